package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/engine/catalog"
	"github.com/bitnet-desktop/bitnet-desktop/engine/download"
	"github.com/bitnet-desktop/bitnet-desktop/internal/appdata"
	"github.com/bitnet-desktop/bitnet-desktop/internal/library"
	"github.com/bitnet-desktop/bitnet-desktop/server"
)

// appLibrary is the desktop app's model library (its models folder;
// BITNET_DATA_DIR moves it), shared with the CLI.
func appLibrary() library.Library {
	p := appdata.Resolve(os.Getenv)
	return library.Library{Dir: p.ModelsDir, CacheDir: p.CacheDir}
}

// resolveModel turns --model into a file: an existing path, else the id
// of an installed model of the library.
func resolveModel(name string, lib library.Library) (string, error) {
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
		return name, nil
	}
	if m, ok := lib.Find(name); ok {
		return m.Path, nil
	}
	if e, ok := catalog.Find(name); ok {
		how := "run `bitnet pull " + e.ID + "` or download it in the app"
		if !e.Downloadable() {
			how = "get its GGUF file from " + e.Page + " and import it in the app"
		}
		return "", engine.Errorf(engine.CodeInvalidRequest, map[string]any{"model": name}, "%s is not installed: %s", e.Name, how)
	}
	if strings.ContainsAny(name, `/\`) || strings.HasSuffix(strings.ToLower(name), ".gguf") {
		return name, nil // a path: the loader says what is wrong with it
	}
	return "", engine.Errorf(engine.CodeInvalidRequest, map[string]any{"model": name},
		"no model %q: give a GGUF file or the id of an installed model (`bitnet models` lists them)", name)
}

// cmdModels is `bitnet models`: the catalog and the installed files.
func cmdModels(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	lib := appLibrary()
	installed := lib.Installed()
	byID := map[string]library.Model{}
	for _, m := range installed {
		byID[m.ID] = m
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tFAMILY\tPARAMS\tSIZE\tCHAT\tINSTALLED")
	gb := func(b int64, exact bool) string {
		s := fmt.Sprintf("%.2f GB", float64(b)/1e9)
		if !exact {
			s = "~" + s
		}
		return s
	}
	yes := map[bool]string{true: "yes", false: "base"}
	for _, e := range catalog.All() {
		where := "-"
		size := gb(e.SizeBytes, e.SizeExact)
		if m, ok := byID[e.ID]; ok {
			where, size = m.Path, gb(m.SizeBytes, true)
			delete(byID, e.ID)
		} else if !e.Downloadable() {
			where = "- (import from " + e.Page + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1fB\t%s\t%s\t%s\n", e.ID, e.Name, e.Family, float64(e.Parameters)/1e9, size, yes[e.Chat], where)
	}
	for _, m := range installed {
		if _, ok := byID[m.ID]; !ok {
			continue
		}
		family, chat := "?", "?"
		if info, err := library.Inspect(m.Path); err == nil {
			family, chat = string(info.Family), yes[info.Chat]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t%s\t%s\n", m.ID, m.Name(), family, gb(m.SizeBytes, true), chat, m.Path)
	}
	fmt.Fprintf(tw, "\nmodels folder: %s\n", lib.Dir)
	return tw.Flush()
}

// cmdPull is `bitnet pull ID`: downloads a catalog model into the library
// (resumable; checked against its published SHA-256 when there is one).
func cmdPull(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("pull", stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: bitnet pull MODEL_ID   (`bitnet models` lists them)")
		return errUsage
	}
	e, ok := catalog.Find(fs.Arg(0))
	if !ok {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "no model %q in the catalog (`bitnet models` lists them)", fs.Arg(0))
	}
	if !e.Downloadable() {
		return engine.Errorf(engine.CodeInvalidRequest, nil, "%s has no download the app knows: get its GGUF file from %s", e.Name, e.Page)
	}
	lib := appLibrary()
	dest := lib.DownloadPath(e)
	size := int64(0)
	if e.SizeExact {
		size = e.SizeBytes
	}
	last := time.Time{}
	m, err := download.New(download.Config{URL: e.URL, Dest: dest, SHA256: e.SHA256, ExpectedSize: size, UserAgent: "bitnet/" + version,
		OnProgress: func(p download.Progress) {
			if time.Since(last) < 500*time.Millisecond && p.State == download.StateRunning {
				return
			}
			last = time.Now()
			switch {
			case p.Err != nil && p.State == download.StateRunning:
				fmt.Fprintf(stderr, "\r%-78s", fmt.Sprintf("attempt %d failed: %s; retrying", p.Attempt, p.Err.Msg))
			case p.State == download.StateVerifying:
				fmt.Fprintf(stderr, "\r%-78s", fmt.Sprintf("verifying %.0f%%", pct(p.BytesDone, p.BytesTotal)))
			default:
				fmt.Fprintf(stderr, "\r%-78s", fmt.Sprintf("%s %.0f%% of %.2f GB, %.1f MB/s", e.ID, pct(p.BytesDone, p.BytesTotal),
					float64(max(p.BytesTotal, 0))/1e9, p.BytesPerSecond/1e6))
			}
		}})
	if err != nil {
		return err
	}
	err = m.Run(ctx)
	fmt.Fprintln(stderr)
	if engine.CodeOf(err) == engine.CodeCancelled {
		fmt.Fprintf(stderr, "paused: run `bitnet pull %s` again to resume\n", e.ID)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s installed: %s\n", e.Name, dest)
	return nil
}

func pct(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(done) / float64(total)
}

// serveSwitcher offers `bitnet serve` the library's installed models
// (and the --model file, first) with the same load flags.
type serveSwitcher struct {
	lf     loadFlags
	stderr io.Writer
	lib    library.Library
	first  server.ModelCard
	path   string // the --model file
}

func (s *serveSwitcher) Models() []server.ModelCard {
	out := []server.ModelCard{s.first}
	for _, m := range s.lib.Installed() {
		if strings.EqualFold(m.ID, s.first.ID) || filepath.Clean(m.Path) == filepath.Clean(s.path) {
			continue
		}
		c := server.ModelCard{ID: m.ID, Name: m.Name()}
		if info, err := library.Inspect(m.Path); err == nil {
			c.Family, c.Parameters, c.ContextLength, c.Chat = string(info.Family), info.Parameters, info.Context, info.Chat
		}
		out = append(out, c)
	}
	return out
}

func (s *serveSwitcher) Load(ctx context.Context, id string) (engine.Model, error) {
	path := s.path
	if !strings.EqualFold(id, s.first.ID) {
		m, ok := s.lib.Find(id)
		if !ok {
			return nil, engine.Errorf(engine.CodeInvalidRequest, map[string]any{"param": "model"}, "the model %q is not installed", id)
		}
		path = m.Path
	}
	lf := s.lf
	lf.model, lf.quiet = path, true
	m, _, err := lf.load(ctx, s.stderr)
	if err != nil {
		return nil, err
	}
	return m, nil
}
