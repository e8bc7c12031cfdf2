package instruct

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomPrints makes n fingerprints: random variant hashes (half of them
// near one of a few centres, as fundus photos crowd together), some
// with thumbnails, some bare one-hash --exclude-eval prints, a few
// missing; and near duplicates planted at distances 0 to 14 bits from a
// random variant of an earlier print, with its thumbnail (so near
// confirms them) or none. shas repeat for some planted copies.
func randomPrints(n int, seed uint64, clustered bool) ([]*fprint, []string) {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	flip := func(h uint64, d int) uint64 {
		for _, b := range r.Perm(64)[:d] {
			h ^= 1 << b
		}
		return h
	}
	thumb := func() []byte {
		t := make([]byte, ThumbSize*ThumbSize)
		for i := range t {
			t[i] = byte(r.IntN(256))
		}
		return t
	}
	prints := make([]*fprint, n)
	shas := make([]string, n)
	for i := range prints {
		shas[i] = fmt.Sprintf("%064x", i)
		switch {
		case i%50 == 7:
			prints[i] = nil // undecodable
			continue
		case i > 10 && i%5 == 0: // a planted near duplicate of an earlier print
			src := prints[r.IntN(i)]
			for src == nil {
				src = prints[r.IntN(i)]
			}
			f := &fprint{hashes: []uint64{flip(src.hashes[r.IntN(len(src.hashes))], r.IntN(15))}}
			if len(src.thumb) > 0 && r.IntN(2) == 0 {
				f.thumb = src.thumb
			}
			if r.IntN(4) > 0 { // usually a full print: its other variants random
				for range 7 {
					f.hashes = append(f.hashes, r.Uint64())
				}
			}
			if r.IntN(10) == 0 {
				shas[i] = shas[r.IntN(i)] // the same file again, or no hash
			}
			prints[i] = f
			continue
		}
		f := &fprint{}
		nv := 8
		if i%13 == 0 {
			nv = 1 // a bare pHash
		}
		for range nv {
			h := r.Uint64()
			if clustered && r.IntN(2) == 0 {
				h = flip(centres[r.IntN(len(centres))], 8+r.IntN(24))
			}
			f.hashes = append(f.hashes, h)
		}
		if nv == 8 && r.IntN(3) > 0 {
			f.thumb = thumb()
		}
		if i%17 == 0 {
			shas[i] = ""
		}
		prints[i] = f
	}
	return prints, shas
}

// The index finds exactly the pairs all pairs do, at every threshold
// (band radius 0 to 2, four to six bands, and the all-pairs fallback).
func TestNearPairsIndex(t *testing.T) {
	prints, shas := randomPrints(2500, 1, true)
	for _, thr := range []int{0, 1, 3, 4, 7, 9, DefaultNearThreshold, 11, 12, 16, 20} {
		t.Run(fmt.Sprint(thr), func(t *testing.T) {
			cfg := SplitConfig{NearThreshold: thr}.withDefaults()
			cfg.NearThreshold = thr // withDefaults reads 0 as the default
			want := nearPairsAll(prints, shas, cfg)
			got := nearPairs(prints, shas, cfg)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("index: %d pairs, all pairs: %d (bands %d)", len(got), len(want), bestBands(thr, 8*len(prints)))
			}
			ok := 0
			for _, p := range want {
				if p.ok {
					ok++
				}
			}
			if thr >= 4 && (ok == 0 || ok == len(want)) {
				t.Errorf("threshold %d: %d pairs, %d confirmed: the test should have both kinds", thr, len(want), ok)
			}
			t.Logf("threshold %d: %d pairs (%d confirmed), %d bands", thr, len(want), ok, bestBands(thr, 8*len(prints)))
		})
	}
}

func TestBestBands(t *testing.T) {
	for _, c := range []struct{ thr, n, want int }{
		{DefaultNearThreshold, 160000, 4}, // four 16-bit bands, radius 2
		{3, 160000, 4},                    // radius 0
		{DefaultNearThreshold, 8, 0},      // a handful of hashes: all pairs
		{40, 160000, 0},                   // no band radius pays
	} {
		if got := bestBands(c.thr, c.n); got != c.want {
			t.Errorf("bestBands(%d, %d) = %d, want %d", c.thr, c.n, got, c.want)
		}
	}
}

// BenchmarkNearPairs: 20,000 fingerprints (eight variants each, a fifth
// of them planted near duplicates), the default threshold: the index
// against all pairs. The hashes are uniform, so the few pairs within the
// threshold cost little to confirm and the search itself is measured
// (on crowded hashes both pay the same thumbnail checks on top).
func BenchmarkNearPairs(b *testing.B) {
	prints, shas := randomPrints(20000, 2, false)
	cfg := SplitConfig{}.withDefaults()
	for _, c := range []struct {
		name string
		f    func([]*fprint, []string, SplitConfig) []nearPair
	}{{"index", nearPairs}, {"allpairs", nearPairsAll}} {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				n = len(c.f(prints, shas, cfg))
			}
			b.ReportMetric(float64(n), "pairs")
		})
	}
}
