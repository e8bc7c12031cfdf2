package server

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

var discard = slog.New(slog.DiscardHandler)

// storeEntry makes the upload, Report and scene of a stored entry: a
// photo of n bytes (not a real image: the store keeps bytes as given).
func storeEntry(seed, n int) ([]byte, *report.Report, *overlay.Scene, image.Rectangle) {
	data := bytes.Repeat([]byte{byte(seed)}, n)
	copy(data, fmt.Sprintf("photo %d", seed))
	r := &report.Report{SchemaVersion: report.SchemaVersion, ID: sha256Hex(data)[:16]}
	r.Image.Format, r.Image.SHA256 = "png", sha256Hex(data)
	b := image.Rect(0, 0, 8, 8)
	s := &overlay.Scene{Vessels: image.NewGray(b)}
	s.Vessels.Pix[seed%64] = 255
	return data, r, s, b
}

// entryFiles lists the files of id in dir.
func entryFiles(t *testing.T, dir, id string) []string {
	t.Helper()
	var out []string
	for _, f := range listFiles(t, dir) {
		if strings.Contains(f, id) {
			out = append(out, f)
		}
	}
	return out
}

// TestStorePrune: the bounds remove the oldest entries whole (photo,
// layers and Report), by bytes (never the newest) and by age, after each
// write, and count and log what they removed.
func TestStorePrune(t *testing.T) {
	const photoBytes = 4000
	// The bytes of one entry, measured in a scratch store.
	scratch, err := OpenStore(t.TempDir(), StoreConfig{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := scratch.Put(storeEntry(0, photoBytes)); err != nil {
		t.Fatal(err)
	}
	size := scratch.Stats().Bytes
	tests := []struct {
		name     string
		cfg      StoreConfig
		puts     []time.Duration // clock advance before each write
		kept     []int           // indices of the entries left
		reason   string
		pruned   int64
		idleThen time.Duration // then the clock advances without writes, and Prune runs
		keptIdle []int
	}{
		{name: "unbounded", puts: []time.Duration{0, time.Hour, time.Hour, time.Hour}, kept: []int{0, 1, 2, 3}},
		{name: "bytes", cfg: StoreConfig{MaxBytes: 2*size + size/2}, puts: []time.Duration{0, 1, 1, 1},
			kept: []int{2, 3}, reason: pruneBytes, pruned: 2},
		{name: "bytes keep the newest", cfg: StoreConfig{MaxBytes: 1}, puts: []time.Duration{0, 1, 1},
			kept: []int{2}, reason: pruneBytes, pruned: 2},
		{name: "age", cfg: StoreConfig{MaxAge: time.Hour}, puts: []time.Duration{0, 90 * time.Minute, 30 * time.Minute},
			kept: []int{1, 2}, reason: pruneAge, pruned: 2,
			idleThen: 45 * time.Minute, keptIdle: []int{2}},
		{name: "age idle removes the last", cfg: StoreConfig{MaxAge: time.Hour}, puts: []time.Duration{0},
			kept: []int{0}, idleThen: 2 * time.Hour, keptIdle: []int{}, reason: pruneAge, pruned: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs bytes.Buffer
			tc.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			st, err := OpenStore(dir, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			st.now = func() time.Time { return clock }
			var ids []string
			for i, d := range tc.puts {
				clock = clock.Add(d)
				data, r, s, b := storeEntry(i, photoBytes)
				if err := st.Put(data, r, s, b); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
				// The entry just written is always whole.
				if got := entryFiles(t, dir, r.ID); len(got) != 3 {
					t.Fatalf("entry %d just written: %v", i, got)
				}
			}
			check := func(kept []int) {
				t.Helper()
				for i, id := range ids {
					files := entryFiles(t, dir, id)
					if slices.Contains(kept, i) {
						if len(files) != 3 {
							t.Errorf("entry %d: files %v, want photo, layers and report", i, files)
						}
						if _, err := st.Report(id); err != nil {
							t.Errorf("entry %d kept but not answered: %v", i, err)
						}
					} else {
						if len(files) != 0 {
							t.Errorf("entry %d pruned but files remain: %v", i, files)
						}
						if _, err := st.Report(id); !errors.Is(err, errNotFound) {
							t.Errorf("entry %d pruned but answered: %v", i, err)
						}
					}
				}
				if files := listFiles(t, dir); len(files) != 3*len(kept) {
					t.Errorf("store holds %v, want %d entries", files, len(kept))
				}
				stats := st.Stats()
				var want int64
				for _, f := range listFiles(t, dir) {
					fi, _ := os.Stat(filepath.Join(dir, f))
					want += fi.Size()
				}
				if stats.Entries != len(kept) || stats.Bytes != want {
					t.Errorf("stats %d entries, %d bytes; the directory holds %d, %d bytes", stats.Entries, stats.Bytes, len(kept), want)
				}
			}
			check(tc.kept)
			if tc.idleThen > 0 {
				clock = clock.Add(tc.idleThen)
				// Expired entries are not answered even before they are removed.
				for i, id := range ids {
					if _, err := st.Report(id); !slices.Contains(tc.keptIdle, i) && !errors.Is(err, errNotFound) {
						t.Errorf("entry %d expired but answered: %v", i, err)
					}
				}
				st.Prune()
				check(tc.keptIdle)
			}
			stats := st.Stats()
			if tc.reason != "" && stats.Pruned[tc.reason] != tc.pruned {
				t.Errorf("pruned %v, want %d by %s", stats.Pruned, tc.pruned, tc.reason)
			}
			if tc.reason != "" && !strings.Contains(logs.String(), "msg=\"store pruned\" reason="+tc.reason) {
				t.Errorf("no info line for the prune:\n%s", logs.String())
			}
			for _, id := range ids {
				if strings.Contains(logs.String(), id) {
					t.Errorf("the log names an entry: %s", logs.String())
				}
			}
		})
	}
}

// TestStoreOpenPrunes: at start-up the store removes a crash's leftovers
// (temporary files, an entry without its Report) and the entries beyond
// its bounds, and leaves files that are not its own alone.
func TestStoreOpenPrunes(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir, StoreConfig{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 4 {
		data, r, s, b := storeEntry(i, 1000)
		if err := st.Put(data, r, s, b); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	// Entry 0 is 3 days old, 1 to 3 an hour apart in the last hours.
	now := time.Now()
	for i, age := range []time.Duration{72 * time.Hour, 3 * time.Hour, 2 * time.Hour, time.Hour} {
		if err := os.Chtimes(filepath.Join(dir, ids[i]+".json"), now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	// A crash between the photo and the Report of entry 4, one during a
	// write, and somebody's notes.
	data, r, _, _ := storeEntry(4, 1000)
	os.WriteFile(filepath.Join(dir, r.ID+".png"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "."+ids[1]+".json.tmp-123456"), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600)

	size := st.Stats().Bytes / 4 // of one entry
	st, err = OpenStore(dir, StoreConfig{Logger: discard, MaxAge: 24 * time.Hour, MaxBytes: 2*size + size/2})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ids[2] + ".json", ids[2] + ".layers.zip", ids[2] + ".png", ids[3] + ".json", ids[3] + ".layers.zip", ids[3] + ".png", "notes.txt"}
	slices.Sort(want)
	if got := listFiles(t, dir); !slices.Equal(got, want) {
		t.Errorf("after start-up the store holds %v, want %v", got, want)
	}
	s := st.Stats()
	if s.Entries != 2 || s.Bytes < 2*size-8 || s.Bytes > 2*size+8 || s.Pruned[pruneAge] != 1 || s.Pruned[pruneBytes] != 1 || s.Pruned[pruneIncomplete] != 1 {
		t.Errorf("stats %+v", s)
	}

	// /metrics shows them.
	_, ts := newTest(t, Config{Analyzer: &fake{}, Store: st})
	_, m := do(t, "GET", ts.URL+"/metrics", "", "", nil)
	for _, w := range []string{
		"retinalgpt_store_entries 2\n", fmt.Sprintf("retinalgpt_store_bytes %d\n", s.Bytes),
		`retinalgpt_store_pruned_total{reason="age"} 1`, `retinalgpt_store_pruned_total{reason="bytes"} 1`,
		`retinalgpt_store_pruned_total{reason="incomplete"} 1`, fmt.Sprintf(`retinalgpt_store_pruned_bytes_total{reason="bytes"} %d`, s.PrunedBytes[pruneBytes]),
	} {
		if !bytes.Contains(m, []byte(w)) {
			t.Errorf("metrics lack %q", w)
		}
	}
}

// TestStoreConcurrentReaders: while entries are written and the oldest
// pruned, a reader gets an entry whole (its Report, the photo that
// matches it, its layers) or not at all.
func TestStoreConcurrentReaders(t *testing.T) {
	dir := t.TempDir()
	st, err := OpenStore(dir, StoreConfig{MaxBytes: 3 * 3000, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	var (
		mu      sync.Mutex
		ids     []string
		done    atomic.Bool
		whole   atomic.Int64
		missing atomic.Int64
		wg      sync.WaitGroup
	)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !done.Load(); i++ {
				time.Sleep(20 * time.Microsecond) // a shared machine: no spinning
				mu.Lock()
				if len(ids) == 0 {
					mu.Unlock()
					continue
				}
				// The store keeps 2 entries: read the newest 4, the older
				// ones about to be pruned, or being pruned.
				id := ids[max(0, len(ids)-1-(i+r)%4)]
				mu.Unlock()
				a, err := st.load(id, true)
				if errors.Is(err, errNotFound) {
					missing.Add(1)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				if a.report.ID != id || a.photo == nil || sha256Hex(a.photo)[:16] != id || a.layers == nil {
					t.Errorf("half an entry: report %q, %d photo bytes, %d layer bytes", a.report.ID, len(a.photo), len(a.layers))
					return
				}
				if _, err := decodeLayers(a.layers, image.Rect(0, 0, 8, 8)); err != nil {
					t.Errorf("layers of %s: %v", id, err)
					return
				}
				whole.Add(1)
			}
		}()
	}
	for i := range n {
		data, r, s, b := storeEntry(i, 2000)
		if err := st.Put(data, r, s, b); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		ids = append(ids, r.ID)
		mu.Unlock()
	}
	done.Store(true)
	wg.Wait()
	if testing.Verbose() || whole.Load() == 0 || missing.Load() == 0 {
		t.Logf("reads: %d whole, %d pruned (both should happen for the test to bite)", whole.Load(), missing.Load())
	}
	if s := st.Stats(); s.Entries > 4 || s.Pruned[pruneBytes] < n-4 {
		t.Errorf("stats %+v", s)
	}
}

// TestLayersRoundTrip: every part of a scene survives the layers file, so
// that each layer draws the same pixels after a restart.
func TestLayersRoundTrip(t *testing.T) {
	b := image.Rect(0, 0, 40, 30)
	photo := image.NewNRGBA(b)
	for i := range photo.Pix {
		photo.Pix[i] = uint8(i * 7)
	}
	mask := func(r image.Rectangle, mod int) *image.Gray {
		g := image.NewGray(r)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if (x*y)%mod == 0 {
					g.SetGray(x, y, color.Gray{uint8(1 + x)})
				}
			}
		}
		return g
	}
	sub := image.NewGray(b).SubImage(image.Rect(10, 5, 30, 25)).(*image.Gray)
	for i := range sub.Pix {
		sub.Pix[i] = 255
	}
	s := overlay.Scene{
		Vessels: mask(b, 3), Arteries: mask(b, 5), Veins: mask(b, 7),
		FOV: &overlay.Circle{X: 20.25, Y: 15.125, R: 14.0000001}, Disc: &overlay.Point{X: 20, Y: 15}, Fovea: &overlay.Point{X: 8.5, Y: 14.75},
		DiscMask: sub, CupMask: mask(image.Rect(15, 10, 25, 20), 2),
		ZoneB: &overlay.Ring{X: 20, Y: 15, Inner: 5, Outer: 8}, ZoneC: &overlay.Ring{X: 20, Y: 15, Inner: 5, Outer: 12},
		Lesions: []overlay.LesionLayer{
			{Mask: mask(b, 11), Boxes: []overlay.Box{{1, 2, 3.5, 4.25}}, Color: overlay.LesionColors["HE"], Label: "HE haemorrhages: 1"},
			{Label: "MA microaneurysms: not detected by this model", Color: overlay.LesionColors["MA"]},
		},
		LesionTitle: "Lesions",
	}
	data, err := encodeLayers(s, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeLayers(data, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []overlay.Layers{overlay.AllLayers, overlay.LayerVessels, overlay.LayerArteryVein, overlay.LayerFOV,
		overlay.LayerDiscCup, overlay.LayerZones, overlay.LayerLandmarks, overlay.LayerLesions} {
		if want, have := overlay.Draw(photo, s, l), overlay.Draw(photo, got, l); !bytes.Equal(want.Pix, have.Pix) {
			t.Errorf("layers %v drawn differently after the round trip", l)
		}
	}
	if got.DiscMask.Rect != sub.Rect || got.LesionTitle != s.LesionTitle || len(got.Lesions) != 2 || got.Lesions[1].Mask != nil {
		t.Errorf("scene after the round trip: %+v", got)
	}
	// A photo of another size: refused, so the caller analyses again.
	if _, err := decodeLayers(data, image.Rect(0, 0, 30, 30)); !errors.Is(err, errBadLayers) {
		t.Errorf("layers for another photo size: %v", err)
	}
}

// An analysis older than --store-max-age is no longer answered from the
// memory cache either: the age bound is a retention promise.
func TestCacheKeepsStoreMaxAge(t *testing.T) {
	st, err := OpenStore(t.TempDir(), StoreConfig{MaxAge: time.Hour, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return clock }
	p := newPool(1, 1, 8, 1<<20, time.Minute, analysis.Options{}, fundus.Limits{}, newMetrics())
	defer p.close()
	p.store = st
	p.mu.Lock()
	p.insert(&entry{id: "0123456789abcdef", sha: "0123456789abcdef" + strings.Repeat("0", 48), report: &report.Report{CreatedAt: clock}, cost: 100})
	p.mu.Unlock()
	if _, err := p.get("0123456789abcdef"); err != nil {
		t.Fatalf("fresh entry: %v", err)
	}
	clock = clock.Add(2 * time.Hour)
	if _, err := p.get("0123456789abcdef"); !errors.Is(err, errNotFound) {
		t.Fatalf("expired entry: error %v, want not found", err)
	}
	if n, b := p.cacheStats(); n != 0 || b != 0 {
		t.Errorf("cache after expiry: %d entries, %d bytes", n, b)
	}
}
