package server

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Store keeps each analysed upload and its Report on disk (`serve
// --store DIR`), so that reports outlive the memory cache and a restart.
// Without a Store the server writes nothing to disk.
//
// Files are named by the report id (the first 16 hex digits of the
// upload's SHA-256): ID.json (the Report) and ID.EXT (the upload's bytes
// as received, EXT from its decoded format: jpg, png, tif, …). Each is
// written to a temporary file in DIR, synced and renamed over the final
// name, so a reader (or a crash) never sees half a file; the photo is
// written before the Report, so an ID.json always has its photo beside
// it. Files are created 0600 and DIR 0700.
type Store struct {
	dir string
}

// idPattern is the form of a report id; anything else is never a file
// name in the store.
var idPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// OpenStore creates dir if needed and checks that files can be written
// there.
func OpenStore(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("store: %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return &Store{dir: dir}, nil
}

// Dir is the store's directory.
func (st *Store) Dir() string { return st.dir }

// imageExt is the file extension for a decoded format.
func imageExt(format string) string {
	switch format {
	case "jpeg":
		return "jpg"
	case "tiff":
		return "tif"
	case "":
		return "img"
	}
	ok := true
	for _, c := range format {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			ok = false
		}
	}
	if !ok || len(format) > 8 {
		return "img"
	}
	return format
}

// Put writes the upload and its Report, atomically, replacing any earlier
// analysis of the same bytes.
func (st *Store) Put(data []byte, r *report.Report) error {
	if r == nil || !idPattern.MatchString(r.ID) {
		return fmt.Errorf("store: report without a valid id")
	}
	var buf bytes.Buffer
	if err := r.Encode(&buf); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := st.writeAtomic(r.ID+"."+imageExt(r.Image.Format), data); err != nil {
		return err
	}
	return st.writeAtomic(r.ID+".json", buf.Bytes())
}

func (st *Store) writeAtomic(name string, data []byte) (err error) {
	f, err := os.CreateTemp(st.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: write %s: %w", name, err)
	}
	if err = os.Rename(tmp, filepath.Join(st.dir, name)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Report reads a stored Report; errNotFound when there is none.
func (st *Store) Report(id string) (*report.Report, error) {
	if !idPattern.MatchString(id) {
		return nil, errNotFound
	}
	f, err := os.Open(filepath.Join(st.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	r, err := report.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", id, err)
	}
	return r, nil
}

// Photo reads the stored upload of a report; errNotFound when there is
// none.
func (st *Store) Photo(id string) ([]byte, error) {
	if !idPattern.MatchString(id) {
		return nil, errNotFound
	}
	matches, err := filepath.Glob(filepath.Join(st.dir, id+".*"))
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		if strings.HasSuffix(m, ".json") {
			continue
		}
		return os.ReadFile(m)
	}
	return nil, errNotFound
}
