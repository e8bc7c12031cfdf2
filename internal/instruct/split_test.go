package instruct

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

func fingerprint(t testing.TB, data []byte) ([]string, []byte) {
	t.Helper()
	ph, th, err := Fingerprint(data, "x.png")
	if err != nil {
		t.Fatal(err)
	}
	return ph, th
}

func entry(t testing.TB, seq int, ds, id, split, group string, data []byte) *Entry {
	e := &Entry{Seq: seq, Dataset: ds, ID: id, OfficialSplit: split, Group: group}
	e.SHA256 = fmt.Sprintf("%064x", seq+1) // distinct unless set below
	e.PHash, e.Thumb = fingerprint(t, data)
	return e
}

// TestAssignSets: exact and near duplicates across datasets, one
// patient's eyes, an official test image's copy and an --exclude-eval
// image's copy each end up together; the assignment does not depend on
// the order of the entries' discovery or on the salt-free defaults.
func TestAssignSets(t *testing.T) {
	a, aFlip, b, c, d, ev := photoPNG(t, 1, false), photoPNG(t, 1, true), photoPNG(t, 2, false), photoPNG(t, 3, false), photoPNG(t, 4, false), photoPNG(t, 5, false)
	var aJPEG bytes.Buffer // a recompressed copy of a
	img, _, _ := image.Decode(bytes.NewReader(a))
	jpeg.Encode(&aJPEG, img, &jpeg.Options{Quality: 80})
	es := []*Entry{
		entry(t, 0, "x", "a", "", "", a),
		entry(t, 1, "y", "a-flipped", "", "", aFlip),
		entry(t, 2, "y", "a-jpeg", "", "", aJPEG.Bytes()),
		entry(t, 3, "x", "b-left", "", "p1", b),
		entry(t, 4, "x", "c-right", "", "p1", c),
		entry(t, 5, "z", "b-copy", "", "", b),
		entry(t, 6, "x", "d", dataset.SplitTest, "", d),
		entry(t, 7, "y", "d-copy", "", "", d),
		entry(t, 8, "y", "ev-copy", "", "", ev),
		entry(t, 9, "x", "other", dataset.SplitVal, "", photoPNG(t, 6, false)),
	}
	es[5].SHA256 = es[3].SHA256 // identical files
	evPH, evTh := fingerprint(t, ev)
	eval := []EvalPrint{{Name: "bench.png", SHA256: "00", PHash: evPH, Thumb: evTh}}
	sets, rep := assignSets(es, eval, SplitConfig{})
	same := func(i, j int) {
		if sets[i] != sets[j] {
			t.Errorf("%s (%s) and %s (%s) in different sets", es[i].ID, sets[i], es[j].ID, sets[j])
		}
	}
	same(0, 1)
	same(0, 2)
	same(3, 4)
	same(3, 5)
	if sets[6] != SetTest || sets[7] != SetTest {
		t.Errorf("official test image and its copy: %s, %s", sets[6], sets[7])
	}
	if sets[8] != SetEval || rep.ExcludedEval != 1 {
		t.Errorf("copy of a benchmark image: %s, %d excluded", sets[8], rep.ExcludedEval)
	}
	if sets[9] != SetVal {
		t.Errorf("official val image: %s", sets[9])
	}
	if rep.ExactPairs != 1 || rep.NearPairs < 4 || rep.PatientGroups != 1 || len(rep.Groups) != 4 {
		t.Errorf("report: %d exact, %d near, %d patient groups, groups %+v", rep.ExactPairs, rep.NearPairs, rep.PatientGroups, rep.Groups)
	}
	// Different photos are not near duplicates.
	for _, g := range rep.Groups {
		if len(g.Members) > 3 {
			t.Errorf("group too big: %v", g.Members)
		}
	}
	again, _ := assignSets(es, eval, SplitConfig{})
	if !reflect.DeepEqual(sets, again) {
		t.Error("assignment not deterministic")
	}
}

// TestSplitFractions: without duplicates about 80/10/10, by hash.
func TestSplitFractions(t *testing.T) {
	var es []*Entry
	for i := range 2000 {
		es = append(es, &Entry{Seq: i, Dataset: "x", ID: fmt.Sprint(i), SHA256: fmt.Sprintf("%064x", i)})
	}
	sets, _ := assignSets(es, nil, SplitConfig{})
	n := map[string]int{}
	for _, s := range sets {
		n[s]++
	}
	if n[SetTrain] < 1500 || n[SetTrain] > 1700 || n[SetVal] < 150 || n[SetVal] > 250 || n[SetTest] < 150 || n[SetTest] > 250 {
		t.Errorf("sets %v, want about 1600/200/200", n)
	}
}

// TestPHashShared checks the near-duplicate test on the shared
// eye_diseases_4class copy: an augmented copy and its ODIR original match,
// two different blurry cataract photos whose plain pHashes are 2 bits
// apart do not.
func TestPHashShared(t *testing.T) {
	dir := "../../../shared/datasets/eye_diseases_4class/images/cataract"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared eye_diseases_4class not found")
	}
	fp := func(name string) *fprint {
		img, err := fundus.Load(filepath.Join(dir, name), phashLimits)
		if err != nil {
			t.Fatal(err)
		}
		h := PHashes(img)
		return &fprint{hashes: h[:], thumb: Thumb(img)}
	}
	cfg := SplitConfig{}.withDefaults()
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"_109_2655056.jpg", "2158_right.jpg", true},
		{"_102_1024926.jpg", "2153_left.jpg", true},
		{"_109_2006348.jpg", "2128_right.jpg", false},
		{"_101_709333.jpg", "_89_6878178.jpg", false},
	} {
		_, got := near(fp(c.a), fp(c.b), cfg)
		if got != c.want {
			t.Errorf("%s ~ %s: %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// BenchmarkAssignSets: the whole assignment, its near-duplicate search
// (nearPairs) on 10,000 random fingerprints of eight variants each.
func BenchmarkAssignSets(b *testing.B) {
	const n = 10000
	var es []*Entry
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range n {
		e := &Entry{Seq: i, Dataset: "x", ID: fmt.Sprint(i), SHA256: fmt.Sprintf("%064x", i)}
		for range 8 {
			e.PHash = append(e.PHash, FormatPHash(next()))
		}
		es = append(es, e)
	}
	b.ResetTimer()
	for range b.N {
		assignSets(es, nil, SplitConfig{})
	}
}

// TestDedupDriveRite: RITE is DRIVE's photos re-encoded as PNG; every
// training photo must be found as a near duplicate across the two
// datasets, and nothing else.
func TestDedupDriveRite(t *testing.T) {
	drive, rite := "../../../shared/datasets/drive", "../../../shared/datasets/rite"
	for _, d := range []string{drive, rite} {
		if _, err := os.Stat(d); err != nil {
			t.Skip("shared DRIVE/RITE not found")
		}
	}
	rep, counts, err := Dedup(context.Background(), Config{Sources: []Source{{"drive", drive}, {"rite", rite}}, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 20 training pairs; the 20 test pairs are hashed too (held out).
	if len(rep.Groups) != 40 {
		t.Errorf("%d groups, want 40: %s", len(rep.Groups), GroupSummary(rep))
	}
	for _, g := range rep.Groups {
		if len(g.Members) != 2 || !g.CrossDataset || strings.TrimPrefix(g.Members[0], "drive/") != strings.TrimPrefix(g.Members[1], "rite/") {
			t.Errorf("group %+v", g)
		}
	}
	if counts[SetTrain]+counts[SetVal]+counts[SetTest] != 40 {
		t.Errorf("sets %v: the 40 test photos are held out, the 40 training photos assigned", counts)
	}
}
