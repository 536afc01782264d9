package download

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
)

// sidecar is the small file kept next to the .part file so that a download
// resumed after a restart can tell whether the partial bytes still belong to
// the same remote file.
type sidecar struct {
	URL          string `json:"url"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Total        int64  `json:"total"` // -1 = unknown
}

// PartPath is the file a download of dest writes to until it is verified.
func PartPath(dest string) string { return dest + ".part" }

func sidecarPath(dest string) string { return dest + ".part.json" }

func readSidecar(dest string) (sidecar, bool) {
	b, err := os.ReadFile(sidecarPath(dest))
	if err != nil {
		return sidecar{}, false
	}
	var s sidecar
	if json.Unmarshal(b, &s) != nil {
		return sidecar{}, false
	}
	return s, true
}

// writeSidecar writes the sidecar atomically (temp file + rename).
func writeSidecar(dest string, s sidecar) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := sidecarPath(dest) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, sidecarPath(dest))
}

// removePartial deletes the .part file and its sidecar.
func removePartial(dest string) error {
	var errs []error
	for _, p := range []string{PartPath(dest), sidecarPath(dest), sidecarPath(dest) + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Partial describes a download of dest left unfinished, e.g. by a previous
// run of the app.
type Partial struct {
	URL        string // the URL it came from ("" if unknown)
	BytesDone  int64  // size of the .part file
	BytesTotal int64  // size of the whole file, -1 if unknown
}

// Inspect reports the unfinished download of dest, if any.
func Inspect(dest string) (Partial, bool) {
	st, err := os.Stat(PartPath(dest))
	if err != nil || !st.Mode().IsRegular() {
		return Partial{}, false
	}
	p := Partial{BytesDone: st.Size(), BytesTotal: -1}
	if sc, ok := readSidecar(dest); ok {
		p.URL, p.BytesTotal = sc.URL, sc.Total
	}
	return p, true
}
