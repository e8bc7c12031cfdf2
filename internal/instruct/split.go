package instruct

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
)

// Assigned sets. SetEval marks records left out as duplicates of an
// --exclude-eval image.
const (
	SetTrain = "train"
	SetVal   = "val"
	SetTest  = "test"
	SetEval  = "excluded_eval"
)

// SplitConfig sets the train/val/test assignment and the near-duplicate
// test. Zero values mean the defaults (80/10/10, DefaultNearThreshold,
// DefaultMinCorrelation, salt "retinalgpt-split-v1").
type SplitConfig struct {
	Val  float64 `json:"val"`
	Test float64 `json:"test"`
	// NearThreshold is the largest pHash Hamming distance (over the eight
	// flips and turns) of a near-duplicate candidate; MinCorrelation the
	// smallest correlation of the two thumbnails (the second aligned as
	// the pHash matched) that confirms it.
	NearThreshold  int     `json:"near_threshold"`
	MinCorrelation float64 `json:"min_correlation"`
	Salt           string  `json:"salt"`
}

// BarePHashThreshold is the largest distance at which a bare pHash (an
// --exclude-eval line with no image) matches a photo.
const BarePHashThreshold = 4

// DefaultMinCorrelation confirms a near-duplicate candidate; see
// docs/datasets.md for its validation.
const DefaultMinCorrelation = 0.99

func (c SplitConfig) withDefaults() SplitConfig {
	if c.Val == 0 && c.Test == 0 {
		c.Val, c.Test = 0.1, 0.1
	}
	if c.NearThreshold == 0 {
		c.NearThreshold = DefaultNearThreshold
	}
	if c.MinCorrelation == 0 {
		c.MinCorrelation = DefaultMinCorrelation
	}
	if c.Salt == "" {
		c.Salt = "retinalgpt-split-v1"
	}
	return c
}

// DupGroup is one group of images joined by exact (same SHA-256) or near
// (pHash and thumbnail) duplicates, with the images of the same patient
// that came along; all in one set.
type DupGroup struct {
	Members []string `json:"members"` // dataset/id, or "eval:NAME"
	Exact   int      `json:"exact_pairs"`
	Near    int      `json:"near_pairs"`
	Set     string   `json:"set"`
	// CrossDataset: members come from more than one dataset.
	CrossDataset bool `json:"cross_dataset,omitempty"`
}

// SplitReport is the manifest's account of the assignment.
type SplitReport struct {
	Method string      `json:"method"`
	Config SplitConfig `json:"config"`
	// PatientGroups are groups of two or more records of one patient
	// (the adapter's Group), kept together.
	PatientGroups int `json:"patient_groups"`
	ExactPairs    int `json:"exact_pairs"`
	NearPairs     int `json:"near_pairs"`
	// Candidates are pHash matches the thumbnail did not confirm.
	RejectedCandidates int        `json:"rejected_candidates"`
	ImagesInGroups     int        `json:"images_in_duplicate_groups"`
	Groups             []DupGroup `json:"duplicate_groups"`
	EvalImages         int        `json:"exclude_eval_images"`
	ExcludedEval       int        `json:"excluded_eval_records"`
}

const splitMethod = "per image group: union-find over identical SHA-256, near duplicates (64-bit DCT pHash over the eight flips/turns within near_threshold bits, confirmed by a 16x16 thumbnail correlation >= min_correlation) and the adapter's patient groups; a group with an --exclude-eval image is left out, one with an official test (val) image is test (val), any other goes by SHA-256(salt, smallest SHA-256 in the group): the first val fraction to val, the next test fraction to test, the rest to train"

type uf []int

func (u uf) find(x int) int {
	for u[x] != x {
		u[x] = u[u[x]]
		x = u[x]
	}
	return x
}

func (u uf) union(a, b int) {
	a, b = u.find(a), u.find(b)
	if a != b {
		if a > b {
			a, b = b, a
		}
		u[b] = a
	}
}

type fprint struct {
	hashes []uint64
	thumb  []byte
}

func parsePrint(ph []string, thumb []byte) *fprint {
	if len(ph) == 0 {
		return nil
	}
	f := &fprint{thumb: thumb}
	for _, s := range ph {
		h, err := ParsePHash(s)
		if err != nil {
			return nil
		}
		f.hashes = append(f.hashes, h)
	}
	return f
}

// near tests a against b: the best-aligned pHash within threshold, and
// the thumbnails (when both have one) correlated at least minCorr.
func near(a, b *fprint, c SplitConfig) (candidate, confirmed bool) {
	d, bt := 65, 0
	for t, x := range b.hashes {
		if h := Hamming(a.hashes[0], x); h < d {
			d, bt = h, t
		}
	}
	if d > c.NearThreshold {
		return false, false
	}
	if len(a.thumb) != ThumbSize*ThumbSize || len(b.thumb) != ThumbSize*ThumbSize {
		// A bare pHash (from --exclude-eval) is all there is: only a
		// close match counts (unrelated fundus photos are often within
		// 10 bits, rarely within BarePHashThreshold).
		return true, d <= min(c.NearThreshold, BarePHashThreshold)
	}
	return true, ThumbCorrelation(a.thumb, transformThumb(b.thumb, bt)) >= c.MinCorrelation
}

// assignSets gives every entry its set and reports the groups. Entries
// must be in Seq order; the result is independent of how they were
// sharded.
func assignSets(es []*Entry, eval []EvalPrint, cfg SplitConfig) ([]string, SplitReport) {
	cfg = cfg.withDefaults()
	n := len(es)
	u := make(uf, n+len(eval))
	for i := range u {
		u[i] = i
	}
	rep := SplitReport{Method: splitMethod, Config: cfg, EvalImages: len(eval), Groups: []DupGroup{}}
	dupLink := make([]bool, len(u))
	exactOf := map[int]int{}
	nearOf := map[int]int{}
	link := func(a, b int, exact bool) {
		dupLink[a], dupLink[b] = true, true
		if exact {
			rep.ExactPairs++
			exactOf[a]++
		} else {
			rep.NearPairs++
			nearOf[a]++
		}
		u.union(a, b)
	}
	// Exact duplicates.
	bySHA := map[string]int{}
	sha := func(i int) string {
		if i < n {
			return es[i].SHA256
		}
		return eval[i-n].SHA256
	}
	for i := range u {
		s := sha(i)
		if s == "" {
			continue
		}
		if j, ok := bySHA[s]; ok {
			link(j, i, true)
		} else {
			bySHA[s] = i
		}
	}
	// Near duplicates, found through a multi-index of the pHashes
	// (nearPairs), in (i, j) order.
	prints := make([]*fprint, len(u))
	shas := make([]string, len(u))
	for i := range u {
		if i < n {
			prints[i] = parsePrint(es[i].PHash, es[i].Thumb)
		} else {
			prints[i] = parsePrint(eval[i-n].PHash, eval[i-n].Thumb)
		}
		shas[i] = sha(i)
	}
	pairs := nearPairs(prints, shas, cfg)
	for _, p := range pairs {
		if p.ok {
			link(p.i, p.j, false)
		} else {
			rep.RejectedCandidates++
		}
	}
	// Patients.
	byPatient := map[string][]int{}
	for i, e := range es {
		if e.Group != "" {
			k := e.Dataset + "\x00" + e.Group
			byPatient[k] = append(byPatient[k], i)
		}
	}
	for _, is := range byPatient {
		if len(is) > 1 {
			rep.PatientGroups++
			for _, j := range is[1:] {
				u.union(is[0], j)
			}
		}
	}
	// Sets per component.
	comps := map[int][]int{}
	for i := range u {
		r := u.find(i)
		comps[r] = append(comps[r], i)
	}
	sets := make([]string, n)
	roots := make([]int, 0, len(comps))
	for r := range comps {
		roots = append(roots, r)
	}
	sort.Ints(roots)
	for _, r := range roots {
		members := comps[r]
		set := ""
		hasEval, hasTest, hasVal := false, false, false
		key := ""
		for _, i := range members {
			if i >= n {
				hasEval = true
				continue
			}
			switch es[i].OfficialSplit {
			case dataset.SplitTest:
				hasTest = true
			case dataset.SplitVal:
				hasVal = true
			}
			k := es[i].SHA256
			if k == "" {
				k = "id:" + es[i].Dataset + "/" + es[i].ID
			}
			if key == "" || k < key {
				key = k
			}
		}
		switch {
		case hasEval:
			set = SetEval
		case hasTest:
			set = SetTest
		case hasVal:
			set = SetVal
		default:
			h := sha256.Sum256([]byte(cfg.Salt + "\x00" + key))
			x := float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
			switch {
			case x < cfg.Val:
				set = SetVal
			case x < cfg.Val+cfg.Test:
				set = SetTest
			default:
				set = SetTrain
			}
		}
		dup := false
		for _, i := range members {
			if i < n {
				sets[i] = set
			}
			dup = dup || dupLink[i]
		}
		if !dup {
			continue
		}
		g := DupGroup{Set: set}
		ds := map[string]bool{}
		for _, i := range members {
			g.Exact += exactOf[i]
			g.Near += nearOf[i]
			if i < n {
				g.Members = append(g.Members, es[i].Dataset+"/"+es[i].ID)
				ds[es[i].Dataset] = true
			} else {
				g.Members = append(g.Members, "eval:"+eval[i-n].Name)
			}
		}
		g.CrossDataset = len(ds) > 1
		rep.ImagesInGroups += len(members)
		rep.Groups = append(rep.Groups, g)
	}
	for i := range es {
		if sets[i] == SetEval && !es[i].HeldOut {
			rep.ExcludedEval++
		}
	}
	return sets, rep
}

// groupSummary is a one-line account of the duplicate groups.
func groupSummary(r SplitReport) string {
	cross := 0
	big := 0
	for _, g := range r.Groups {
		if g.CrossDataset {
			cross++
		}
		big = max(big, len(g.Members))
	}
	var b strings.Builder
	b.WriteString(itoa(len(r.Groups)) + " duplicate groups (" + itoa(r.ImagesInGroups) + " images, largest " + itoa(big) +
		", " + itoa(cross) + " across datasets): " + itoa(r.ExactPairs) + " identical pairs, " + itoa(r.NearPairs) +
		" near-duplicate pairs, " + itoa(r.RejectedCandidates) + " pHash candidates rejected by the thumbnail")
	return b.String()
}

// Dedup fingerprints every record of cfg's sources (SHA-256, pHash and
// thumbnail; no analysis: cfg.Analyze is not used) and returns the
// duplicate groups and set assignment Run would make, with the number of
// records per set. cfg.Limit and cfg.IncludeTest apply as in Run.
func Dedup(ctx context.Context, cfg Config) (SplitReport, map[string]int, error) {
	plans, _, err := plan(cfg)
	if err != nil {
		return SplitReport{}, nil, err
	}
	es := make([]*Entry, len(plans))
	jobs := make(chan int)
	var wg sync.WaitGroup
	var done atomic.Int64
	for range max(cfg.Workers, 1) {
		wg.Go(func() {
			for i := range jobs {
				p := plans[i]
				e := &Entry{Seq: i, Dataset: p.rec.Dataset, ID: p.rec.ID, Image: p.image, OfficialSplit: p.rec.Split,
					Group: p.rec.Group, HeldOut: p.heldOut}
				if data, err := os.ReadFile(p.rec.Image); err == nil {
					sum := sha256.Sum256(data)
					e.SHA256 = hex.EncodeToString(sum[:])
					e.PHash, e.Thumb, _ = Fingerprint(data, filepath.Base(p.rec.Image))
				}
				es[i] = e
				n := done.Add(1)
				if cfg.OnProgress != nil {
					cfg.OnProgress(int(n), len(plans))
				}
			}
		})
	}
feed:
	for i := range plans {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return SplitReport{}, nil, err
	}
	sets, rep := assignSets(es, cfg.ExcludeEval, cfg.Split)
	counts := map[string]int{}
	for i, e := range es {
		if !e.HeldOut {
			counts[sets[i]]++
		}
	}
	return rep, counts, nil
}

// GroupSummary is a one-line account of a SplitReport's duplicate groups.
func GroupSummary(r SplitReport) string { return groupSummary(r) }
