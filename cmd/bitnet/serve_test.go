package main

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/bitnet-desktop/bitnet-desktop/server"
)

func TestServeFlags(t *testing.T) {
	t.Setenv("BITNET_API_KEY", "")
	base := server.Config{Host: server.DefaultHost, Port: server.DefaultPort, QueueSize: server.DefaultQueueSize, ModelID: server.DefaultModelID}
	tests := []struct {
		name    string
		args    []string
		env     string // BITNET_API_KEY
		want    server.Config
		wantErr string
	}{
		{name: "defaults", want: base},
		{name: "everything", args: []string{"--host", "0.0.0.0", "--port", "9000", "--api-key", "k",
			"--allow-origin", "http://localhost:3000, https://x.example", "--queue", "2", "--model-id", "tiny"},
			want: server.Config{Host: "0.0.0.0", Port: 9000, APIKey: "k", AllowedOrigins: []string{"http://localhost:3000", "https://x.example"},
				QueueSize: 2, ModelID: "tiny"}},
		{name: "queue 0 is no queue", args: []string{"-queue", "0"},
			want: server.Config{Host: server.DefaultHost, Port: server.DefaultPort, QueueSize: -1, ModelID: server.DefaultModelID}},
		{name: "key from env", env: "envkey",
			want: server.Config{Host: server.DefaultHost, Port: server.DefaultPort, APIKey: "envkey", QueueSize: server.DefaultQueueSize, ModelID: server.DefaultModelID}},
		{name: "flag beats env", env: "envkey", args: []string{"--api-key", "flagkey"},
			want: server.Config{Host: server.DefaultHost, Port: server.DefaultPort, APIKey: "flagkey", QueueSize: server.DefaultQueueSize, ModelID: server.DefaultModelID}},
		{name: "bad port", args: []string{"--port", "70000"}, wantErr: "--port"},
		{name: "port 0", args: []string{"--port", "0"}, wantErr: "--port"},
		{name: "negative queue", args: []string{"--queue", "-1"}, wantErr: "--queue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BITNET_API_KEY", tc.env)
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			get := serveFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := get()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg, tc.want) {
				t.Errorf("got %+v, want %+v", cfg, tc.want)
			}
		})
	}
}
