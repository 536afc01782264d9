//go:build linux

package hugepages

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTunedEnv(t *testing.T) {
	tests := []struct {
		name   string
		in     []string
		want   []string // the GLIBC_TUNABLES entries of the result
		reexec bool
	}{
		{"unset", []string{"A=1"}, []string{"GLIBC_TUNABLES=" + tunable}, true},
		{"other tunable kept", []string{"GLIBC_TUNABLES=glibc.malloc.check=0"},
			[]string{"GLIBC_TUNABLES=glibc.malloc.check=0:" + tunable}, true},
		{"already set", []string{"GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}, nil, false},
		{"re-executed already", []string{"GLIBC_TUNABLES=glibc.malloc.check=0", reexecMark + "=1"}, nil, false},
		{"opted out", []string{"BITNET_NO_HUGEPAGES=1"}, nil, false},
		{"empty opt-out ignored", []string{"BITNET_NO_HUGEPAGES="}, []string{"GLIBC_TUNABLES=" + tunable}, true},
		{"duplicates collapse to one", []string{"GLIBC_TUNABLES=a=1", "GLIBC_TUNABLES=b=2"},
			[]string{"GLIBC_TUNABLES=a=1:" + tunable}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, ok := tunedEnv(tc.in)
			if ok != tc.reexec {
				t.Fatalf("re-exec %v, want %v", ok, tc.reexec)
			}
			if !ok {
				return
			}
			var got []string
			for _, kv := range env {
				if strings.HasPrefix(kv, "GLIBC_TUNABLES=") {
					got = append(got, kv)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("GLIBC_TUNABLES entries %q, want %q", got, tc.want)
			}
			if !slices.Contains(env, reexecMark+"=1") {
				t.Errorf("no re-exec mark in %q", env)
			}
		})
	}
}

// TestEnableReturns runs this test binary as a program that calls Enable
// with GLIBC_TUNABLES already set to something else: it must re-execute
// once and then run (before the fix it re-executed itself forever).
func TestEnableReturns(t *testing.T) {
	if os.Getenv("HUGEPAGES_TEST_CHILD") != "" {
		Enable()
		os.Stdout.WriteString("ran with " + os.Getenv("GLIBC_TUNABLES") + "\n")
		os.Exit(0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestEnableReturns$")
	cmd.Env = append(os.Environ(), "HUGEPAGES_TEST_CHILD=1", "GLIBC_TUNABLES=glibc.malloc.check=0")
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool {
		return strings.HasPrefix(kv, "BITNET_NO_HUGEPAGES=") || strings.HasPrefix(kv, reexecMark+"=")
	})
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatal("the program did not return: it re-executes itself forever")
	}
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if want := "ran with glibc.malloc.check=0:" + tunable + "\n"; string(out) != want {
		t.Errorf("child printed %q, want %q", out, want)
	}
}
