package instruct

import (
	"math/bits"
	"runtime"
	"sort"
	"sync"
)

// nearPair is a near-duplicate candidate i < j of assignSets' images
// (entries, then --exclude-eval images); ok when near confirmed it.
type nearPair struct {
	i, j int
	ok   bool
}

// queryOf is the image of the pair (i, j) whose first hash near compares
// with the other's variants: the one with fewer variants (a bare
// --exclude-eval pHash has one), j when both have as many.
func queryOf(prints []*fprint, i, j int) (q, other int) {
	if len(prints[i].hashes) < len(prints[j].hashes) {
		return i, j
	}
	return j, i
}

// nearPairs returns every pair i < j of prints (both non-nil, not the
// same file: equal non-empty SHA-256) that near calls a candidate, sorted
// by (i, j): exactly what nearPairsAll returns, without comparing all
// pairs.
//
// It is multi-index hashing (Norouzi, Punjani and Fleet 2012): the 64
// bits are cut into k bands, and every variant of every image is filed
// under its value in each band. Two hashes within Hamming distance T
// differ in at most T/k bits (rounded down) in some band (if every band
// differed in more, the total would exceed T), so probing each band's
// buckets within that radius of a query finds every variant near enough,
// and near then measures the exact distance. With the default T = 10 and
// four 16-bit bands a query probes 4 × 137 buckets instead of comparing
// with every image. Where no k is cheaper than all pairs (a large
// threshold, few images) it compares all pairs.
func nearPairs(prints []*fprint, shas []string, cfg SplitConfig) []nearPair {
	thr := cfg.NearThreshold
	if thr < 0 { // no distance is negative
		return nil
	}
	var nHashes int
	for _, p := range prints {
		if p != nil {
			nHashes += len(p.hashes)
		}
	}
	k := bestBands(thr, nHashes)
	if k == 0 {
		return nearPairsAll(prints, shas, cfg)
	}
	idx := newBandIndex(prints, k, thr/k)
	files := fileIDs(shas)
	return collectPairs(len(prints), func() func(int, func(nearPair)) {
		seen := make([]int32, len(prints)) // per worker: the last query that met each image, plus one
		return func(q int, emit func(nearPair)) { idx.query(prints, files, q, cfg, seen, emit) }
	})
}

// fileIDs numbers the distinct non-empty SHA-256s from 1 (0: none), so
// "the same file" is an integer comparison.
func fileIDs(shas []string) []int32 {
	ids := make([]int32, len(shas))
	seen := map[string]int32{}
	for i, s := range shas {
		if s == "" {
			continue
		}
		if seen[s] == 0 {
			seen[s] = int32(len(seen) + 1)
		}
		ids[i] = seen[s]
	}
	return ids
}

// nearPairsAll is nearPairs by comparing all pairs: the reference the
// index is tested against, and the search where the index does not pay.
func nearPairsAll(prints []*fprint, shas []string, cfg SplitConfig) []nearPair {
	files := fileIDs(shas)
	search := func(i int, emit func(nearPair)) {
		if prints[i] == nil {
			return
		}
		for j := i + 1; j < len(prints); j++ {
			if prints[j] == nil || files[i] != 0 && files[i] == files[j] {
				continue
			}
			q, o := queryOf(prints, i, j)
			if cand, ok := near(prints[q], prints[o], cfg); cand {
				emit(nearPair{i, j, ok})
			}
		}
	}
	return collectPairs(len(prints), func() func(int, func(nearPair)) { return search })
}

// collectPairs runs a search (one from newSearch per worker) for every
// image, striped over the CPUs, and returns the pairs they emit sorted, so
// the result does not depend on the workers.
func collectPairs(n int, newSearch func() func(i int, emit func(nearPair))) []nearPair {
	nw := max(1, min(runtime.NumCPU(), n/64))
	found := make([][]nearPair, nw)
	var wg sync.WaitGroup
	for w := range nw {
		wg.Go(func() {
			search := newSearch()
			emit := func(p nearPair) { found[w] = append(found[w], p) }
			for i := w; i < n; i += nw {
				search(i, emit)
			}
		})
	}
	wg.Wait()
	var pairs []nearPair
	for _, f := range found {
		pairs = append(pairs, f...)
	}
	sort.Slice(pairs, func(a, b int) bool {
		return pairs[a].i < pairs[b].i || pairs[a].i == pairs[b].i && pairs[a].j < pairs[b].j
	})
	return pairs
}

// bandWidths cuts 64 bits into k bands of nearly equal width.
func bandWidths(k int) []int {
	w := make([]int, k)
	for b := range w {
		w[b] = 64 / k
		if b < 64%k {
			w[b]++
		}
	}
	return w
}

// bestBands is the number of bands (4 to 8: at most 16 bits each, so a
// band's bucket table is small) with the least expected work per query
// for threshold thr over n indexed hashes: the buckets probed, plus the
// hashes in them were the hashes uniform. It is 0 when comparing with all
// n hashes is cheaper (an index step costs about two comparisons).
func bestBands(thr, n int) int {
	best, bestCost := 0, float64(n)/2
	for k := 4; k <= 8; k++ {
		cost := 0.0
		for _, w := range bandWidths(k) {
			probes := float64(ballSize(w, thr/k))
			cost += probes + probes*float64(n)/float64(uint64(1)<<w)
		}
		if cost < bestCost {
			best, bestCost = k, cost
		}
	}
	return best
}

// ballSize is the number of w-bit values within Hamming distance r of one.
func ballSize(w, r int) int {
	n, c := 0, 1
	for i := 0; i <= min(r, w); i++ {
		n += c
		c = c * (w - i) / (i + 1)
	}
	return n
}

// bandIndex files every variant hash of every image under its value in
// each band: for band b, the entries with value v are
// entries[b][start[b][v]:start[b][v+1]].
type bandIndex struct {
	shift, width []int
	start        [][]int32
	entries      [][]bandEntry
	masks        [][]uint64 // per band: the values of weight ≤ radius
}

// bandEntry is one variant hash and its image. Keeping the hash here lets
// a probe reject a far candidate with one XOR and popcount, without
// looking up the image.
type bandEntry struct {
	hash  uint64
	print int32
}

func newBandIndex(prints []*fprint, k, radius int) *bandIndex {
	x := &bandIndex{width: bandWidths(k)}
	sh := 0
	for _, w := range x.width {
		x.shift = append(x.shift, sh)
		sh += w
	}
	masksOf := map[int][]uint64{}
	for b, w := range x.width {
		if masksOf[w] == nil {
			for m := uint64(0); m < 1<<w; m++ {
				if bits.OnesCount64(m) <= radius {
					masksOf[w] = append(masksOf[w], m)
				}
			}
		}
		x.masks = append(x.masks, masksOf[w])
		// Counting sort by band value.
		start := make([]int32, 1<<w+1)
		total := 0
		for _, p := range prints {
			if p == nil {
				continue
			}
			for _, h := range p.hashes {
				start[x.band(h, b)+1]++
				total++
			}
		}
		for v := 1; v < len(start); v++ {
			start[v] += start[v-1]
		}
		next := append([]int32(nil), start[:len(start)-1]...)
		entries := make([]bandEntry, total)
		for i, p := range prints {
			if p == nil {
				continue
			}
			for _, h := range p.hashes {
				v := x.band(h, b)
				entries[next[v]] = bandEntry{h, int32(i)}
				next[v]++
			}
		}
		x.start = append(x.start, start)
		x.entries = append(x.entries, entries)
	}
	return x
}

func (x *bandIndex) band(h uint64, b int) uint64 {
	return h >> x.shift[b] & (1<<x.width[b] - 1)
}

// query emits the pairs whose query image (queryOf) is q: every image
// with a variant within the threshold of q's first hash, found through
// some band, is measured once by near. files are fileIDs; seen is the
// worker's scratch.
func (x *bandIndex) query(prints []*fprint, files []int32, q int, cfg SplitConfig, seen []int32, emit func(nearPair)) {
	if prints[q] == nil {
		return
	}
	h := prints[q].hashes[0]
	stamp := int32(q + 1)
	for b := range x.width {
		v := x.band(h, b)
		start, entries := x.start[b], x.entries[b]
		for _, m := range x.masks[b] {
			u := v ^ m
			for _, e := range entries[start[u]:start[u+1]] {
				p := int(e.print)
				if Hamming(h, e.hash) > cfg.NearThreshold || p == q || seen[p] == stamp {
					continue
				}
				seen[p] = stamp
				i, j := min(q, p), max(q, p)
				if qq, _ := queryOf(prints, i, j); qq != q || files[i] != 0 && files[i] == files[j] {
					continue
				}
				if cand, ok := near(prints[q], prints[p], cfg); cand {
					emit(nearPair{i, j, ok})
				}
			}
		}
	}
}
