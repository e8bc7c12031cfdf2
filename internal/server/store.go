package server

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// DefaultStoreMaxBytes is `serve`'s default bound on the store's size.
const DefaultStoreMaxBytes = 10 << 30

// Store keeps each analysed upload, its Report and its overlay layers on
// disk (`serve --store DIR`), so that they outlive the memory cache and a
// restart. Without a Store the server writes nothing to disk.
//
// An entry is named by the report id (the first 16 hex digits of the
// upload's SHA-256): ID.EXT (the upload's bytes as received, EXT from its
// decoded format: jpg, png, tif, …), ID.layers.zip (what the overlay draws,
// layers.go) and ID.json (the Report). Each is written to a temporary file
// in DIR, synced and renamed over the final name; ID.json goes last and is
// removed first, so an ID.json always has its photo (and, from entries
// written since layers are stored, its layers) beside it, and a file
// without its ID.json is a crash's leftover. Files are created 0600 and
// DIR 0700.
//
// The store is bounded by StoreConfig: the oldest entries (by the time
// their Report was written) are removed whole, at OpenStore and after each
// write.
type Store struct {
	dir string
	cfg StoreConfig
	log *slog.Logger
	now func() time.Time // time.Now; tests move it

	// mu serializes writes and pruning, so that a prune never sees an
	// entry half written, and guards idx.
	mu  sync.Mutex
	idx map[string]*storedEntry
	// rw is held shared by a reader for all of an entry's files and
	// exclusively while entries are removed, so that a reader gets an
	// entry whole or not at all.
	rw sync.RWMutex

	statsMu sync.Mutex
	stats   StoreStats
}

// StoreConfig bounds a Store; zero values: unbounded.
type StoreConfig struct {
	// MaxBytes bounds the bytes of all entries; the oldest are removed
	// beyond it, but never the newest (a single entry larger than the
	// bound is kept). 0: unbounded.
	MaxBytes int64
	// MaxAge removes entries whose Report was written longer ago; such an
	// entry is no longer answered for even before it is removed. 0: kept.
	MaxAge time.Duration
	// Logger reports what was pruned (counts and bytes); nil: slog.Default().
	Logger *slog.Logger
}

// StoreStats are the store's size and what pruning removed, for /metrics.
type StoreStats struct {
	Entries int
	Bytes   int64
	// Pruned counts the entries (and their bytes) removed, by reason:
	// "age", "bytes", or "incomplete" (a crash's leftovers, at start-up).
	Pruned      map[string]int64
	PrunedBytes map[string]int64
}

// Reasons an entry is pruned.
const (
	pruneAge        = "age"
	pruneBytes      = "bytes"
	pruneIncomplete = "incomplete"
)

// storedEntry is one entry in the index.
type storedEntry struct {
	id    string
	files []string // names in dir, ID.json last
	bytes int64
	at    time.Time // when its Report was written
}

// idPattern is the form of a report id; anything else is never a file
// name in the store.
var idPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// storeFile matches a file of an entry (ID.EXT, ID.json, ID.layers.zip)
// and a temporary one (.ID.EXT.tmp-*).
var (
	storeFile = regexp.MustCompile(`^([0-9a-f]{16})\.[a-z0-9.]+$`)
	storeTemp = regexp.MustCompile(`^\.([0-9a-f]{16})\..*\.tmp-[0-9]+$`)
)

// OpenStore creates dir if needed, checks that files can be written
// there, indexes the entries, removes a crash's leftovers and prunes
// to cfg's bounds.
func OpenStore(dir string, cfg StoreConfig) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no directory")
	}
	if cfg.MaxBytes < 0 || cfg.MaxAge < 0 {
		return nil, errors.New("store: negative bound")
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
	st := &Store{dir: dir, cfg: cfg, log: cfg.Logger, now: time.Now, idx: map[string]*storedEntry{},
		stats: StoreStats{Pruned: map[string]int64{}, PrunedBytes: map[string]int64{}}}
	if st.log == nil {
		st.log = slog.Default()
	}
	if err := st.scan(); err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.prune("")
	st.mu.Unlock()
	return st, nil
}

// Dir is the store's directory.
func (st *Store) Dir() string { return st.dir }

// Stats returns the store's size and pruning counts.
func (st *Store) Stats() StoreStats {
	st.statsMu.Lock()
	defer st.statsMu.Unlock()
	s := st.stats
	s.Pruned, s.PrunedBytes = maps.Clone(s.Pruned), maps.Clone(s.PrunedBytes)
	return s
}

// scan builds the index from dir and removes what a crash left: temporary
// files and entries without their ID.json.
func (st *Store) scan() error {
	des, err := os.ReadDir(st.dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	type group struct {
		files []string
		bytes int64
		at    time.Time
		done  bool // has ID.json
	}
	groups := map[string]*group{}
	var tmpN, tmpBytes int64
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		name := de.Name()
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if storeTemp.MatchString(name) {
			// Only this process writes here, and it has not written yet.
			if os.Remove(filepath.Join(st.dir, name)) == nil {
				tmpN++
				tmpBytes += fi.Size()
			}
			continue
		}
		m := storeFile.FindStringSubmatch(name)
		if m == nil {
			continue // not ours: left alone, not counted
		}
		g := groups[m[1]]
		if g == nil {
			g = &group{}
			groups[m[1]] = g
		}
		g.files = append(g.files, name)
		g.bytes += fi.Size()
		if name == m[1]+".json" {
			g.done, g.at = true, fi.ModTime()
		}
	}
	var incompleteN, incompleteBytes int64
	for id, g := range groups {
		if !g.done {
			for _, name := range g.files {
				os.Remove(filepath.Join(st.dir, name))
			}
			incompleteN++
			incompleteBytes += g.bytes
			continue
		}
		st.idx[id] = &storedEntry{id: id, files: jsonLast(id, g.files), bytes: g.bytes, at: g.at}
	}
	if incompleteN > 0 || tmpN > 0 {
		st.log.Info("store pruned", "reason", pruneIncomplete, "entries", incompleteN, "temporary_files", tmpN, "bytes", incompleteBytes+tmpBytes)
		st.count(pruneIncomplete, incompleteN, incompleteBytes+tmpBytes)
	}
	st.updateSize()
	n, b := st.size()
	st.log.Info("store opened", "entries", n, "bytes", b, "max_bytes", st.cfg.MaxBytes, "max_age", st.cfg.MaxAge)
	return nil
}

// jsonLast puts ID.json, the entry's commit marker, last in its list of
// files: written last, removed first (remove goes backwards).
func jsonLast(id string, files []string) []string {
	out := slices.DeleteFunc(slices.Clone(files), func(s string) bool { return s == id+".json" })
	return append(out, id+".json")
}

// size sums the index (st.mu held, or before the Store is shared).
func (st *Store) size() (int, int64) {
	var b int64
	for _, e := range st.idx {
		b += e.bytes
	}
	return len(st.idx), b
}

func (st *Store) updateSize() {
	n, b := st.size()
	st.statsMu.Lock()
	st.stats.Entries, st.stats.Bytes = n, b
	st.statsMu.Unlock()
}

func (st *Store) count(reason string, n, bytes int64) {
	st.statsMu.Lock()
	st.stats.Pruned[reason] += n
	st.stats.PrunedBytes[reason] += bytes
	st.statsMu.Unlock()
}

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
	if !ok || len(format) > 8 || format == "json" {
		return "img"
	}
	return format
}

// Put writes the upload, the overlay's layers (scene, drawn on a photo of
// bounds; none when scene is nil) and the Report, atomically, replacing
// any earlier analysis of the same bytes, then prunes the store to its
// bounds (never this entry). A failed write removes what it wrote of a
// new entry.
func (st *Store) Put(data []byte, r *report.Report, scene *overlay.Scene, bounds image.Rectangle) error {
	if r == nil || !idPattern.MatchString(r.ID) {
		return fmt.Errorf("store: report without a valid id")
	}
	var buf bytes.Buffer
	if err := r.Encode(&buf); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	files := []string{r.ID + "." + imageExt(r.Image.Format)}
	contents := [][]byte{data}
	if scene != nil {
		layers, err := encodeLayers(*scene, bounds)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		files, contents = append(files, r.ID+layersSuffix), append(contents, layers)
	}
	files, contents = append(files, r.ID+".json"), append(contents, buf.Bytes())

	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.idx[r.ID]
	var total int64
	for i, name := range files {
		if err := st.writeAtomic(name, contents[i]); err != nil {
			if old == nil {
				for _, w := range files[:i] {
					os.Remove(filepath.Join(st.dir, w))
				}
			}
			return err
		}
		total += int64(len(contents[i]))
	}
	// The Report's modification time is the entry's age, also after a
	// restart (st.now: tests move the clock).
	e := &storedEntry{id: r.ID, files: files, bytes: total, at: st.now()}
	_ = os.Chtimes(filepath.Join(st.dir, r.ID+".json"), e.at, e.at)
	if old != nil {
		// A file the new entry lacks (layers of an older format) goes too.
		for _, name := range old.files {
			if !slices.Contains(files, name) {
				os.Remove(filepath.Join(st.dir, name))
			}
		}
	}
	st.idx[r.ID] = e
	st.prune(r.ID)
	return nil
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

// Prune removes the entries beyond the store's bounds; `serve` calls it
// periodically so that MaxAge holds on an idle server too.
func (st *Store) Prune() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.prune("")
}

// prune removes the entries older than MaxAge, and the oldest while the
// store is larger than MaxBytes, but never keep (the entry just written)
// and, for the byte bound, never the newest (st.mu held). It logs what it removed: counts and bytes,
// never ids or content.
func (st *Store) prune(keep string) {
	defer st.updateSize()
	if st.cfg.MaxAge <= 0 && st.cfg.MaxBytes <= 0 {
		return
	}
	entries := make([]*storedEntry, 0, len(st.idx))
	for _, e := range st.idx {
		entries = append(entries, e)
	}
	// Oldest first; ties by id, so that the order is stable.
	slices.SortFunc(entries, func(a, b *storedEntry) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	var victims []*storedEntry
	reasons := map[*storedEntry]string{}
	_, total := st.size()
	now := st.now()
	for i, e := range entries {
		switch {
		case e.id == keep:
			continue
		case st.cfg.MaxAge > 0 && now.Sub(e.at) > st.cfg.MaxAge:
			reasons[e] = pruneAge
		case st.cfg.MaxBytes > 0 && total > st.cfg.MaxBytes && i < len(entries)-1:
			reasons[e] = pruneBytes
		default:
			continue
		}
		victims = append(victims, e)
		total -= e.bytes
	}
	if len(victims) == 0 {
		return
	}
	st.rw.Lock()
	for _, e := range victims {
		st.remove(e)
	}
	st.rw.Unlock()
	counts, sizes := map[string]int64{}, map[string]int64{}
	for _, e := range victims {
		delete(st.idx, e.id)
		counts[reasons[e]]++
		sizes[reasons[e]] += e.bytes
	}
	for _, reason := range []string{pruneAge, pruneBytes} {
		if counts[reason] > 0 {
			st.count(reason, counts[reason], sizes[reason])
			st.log.Info("store pruned", "reason", reason, "entries", counts[reason], "bytes", sizes[reason])
		}
	}
}

// remove deletes an entry's files, ID.json first (st.rw held).
func (st *Store) remove(e *storedEntry) {
	for i := len(e.files) - 1; i >= 0; i-- {
		err := os.Remove(filepath.Join(st.dir, e.files[i]))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			st.log.Error("store: prune", "err", err)
		}
	}
}

// expired says whether a Report written at t is beyond MaxAge.
func (st *Store) expired(t time.Time) bool {
	return st.cfg.MaxAge > 0 && st.now().Sub(t) > st.cfg.MaxAge
}

// storedAnalysis is one entry as read.
type storedAnalysis struct {
	report *report.Report
	photo  []byte
	layers []byte // nil: stored before layers were
}

// Report reads a stored Report; errNotFound when there is none (or it is
// older than MaxAge).
func (st *Store) Report(id string) (*report.Report, error) {
	a, err := st.load(id, false)
	if err != nil {
		return nil, err
	}
	return a.report, nil
}

// load reads an entry: its Report, and with files its photo (nil when it
// is gone) and layers (nil for an entry stored without them),
// all under one shared lock so that a prune cannot remove the entry
// between them.
func (st *Store) load(id string, files bool) (*storedAnalysis, error) {
	if !idPattern.MatchString(id) {
		return nil, errNotFound
	}
	st.rw.RLock()
	defer st.rw.RUnlock()
	f, err := os.Open(filepath.Join(st.dir, id+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	} else if st.expired(fi.ModTime()) {
		return nil, errNotFound
	}
	r, err := report.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", id, err)
	}
	a := &storedAnalysis{report: r}
	if !files {
		return a, nil
	}
	if a.photo, err = st.photo(id); errors.Is(err, errNotFound) {
		return a, nil // deleted by hand: the Report without pictures
	} else if err != nil {
		return nil, err
	}
	a.layers, err = os.ReadFile(filepath.Join(st.dir, id+layersSuffix))
	if errors.Is(err, fs.ErrNotExist) {
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return a, nil
}

// photo reads the stored upload of a report (st.rw held); errNotFound when
// there is none.
func (st *Store) photo(id string) ([]byte, error) {
	matches, err := filepath.Glob(filepath.Join(st.dir, id+".*"))
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		ext := strings.TrimPrefix(filepath.Base(m), id+".")
		if ext == "json" || strings.Contains(ext, ".") {
			continue // the Report, the layers
		}
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: the stored analysis %s has no photo", errNotFound, id)
}
