package instruct

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

func itoa(i int) string { return strconv.Itoa(i) }

// Merge combines the journals of a sharded build's shard folders (each
// with shard.json and journal/, as Run writes them with Shards > 1) and
// writes into out exactly the outputs a single-process run of the same
// build writes (the manifest's run fields apart). Every shard of the
// build must be there, once, and complete.
func Merge(ctx context.Context, out string, dirs []string, now func() time.Time) (*Manifest, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard folders")
	}
	if now == nil {
		now = time.Now
	}
	var infos []*ShardInfo
	var entries []*Entry
	seen := map[int]string{}
	for _, d := range dirs {
		info, err := ReadShardInfo(d)
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if len(infos) > 0 {
			first := infos[0]
			probe := *info
			probe.Shard = first.Shard
			if err := first.sameBuild(&probe); err != nil {
				return nil, fmt.Errorf("merge: %s is another build than %s: %v", d, dirs[0], err)
			}
		}
		if prev, ok := seen[info.Shard]; ok {
			return nil, fmt.Errorf("merge: %s and %s are both shard %d", prev, d, info.Shard)
		}
		seen[info.Shard] = d
		if !info.Complete {
			return nil, fmt.Errorf("merge: shard %d in %s is not complete (run its build again to finish it)", info.Shard, d)
		}
		es, err := readJournal(filepath.Join(d, JournalDir))
		if err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		// Keep only this shard's records (a journal may hold a few stale ones).
		kept := 0
		for _, e := range es {
			if ShardOf(e.Dataset, e.ID, info.Shards) == info.Shard {
				entries = append(entries, e)
				kept++
			}
		}
		if kept != info.Records {
			return nil, fmt.Errorf("merge: shard %d in %s has %d journal entries, its shard.json says %d", info.Shard, d, kept, info.Records)
		}
		infos = append(infos, info)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	n := infos[0].Shards
	if len(infos) != n {
		var missing []string
		for i := range n {
			if _, ok := seen[i]; !ok {
				missing = append(missing, itoa(i))
			}
		}
		return nil, fmt.Errorf("merge: %d of %d shards given; missing %v", len(infos), n, missing)
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Shard < infos[j].Shard })
	return finalize(out, infos, entries, infos[0].Build.Split, infos[0].Build.Rewriter, now)
}

// finalize assigns the sets and writes the outputs, each atomically, the
// manifest last.
func finalize(out string, infos []*ShardInfo, es []*Entry, split SplitConfig, rewriter string, now func() time.Time) (*Manifest, error) {
	sort.Slice(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
	for i := 1; i < len(es); i++ {
		if es[i].Seq == es[i-1].Seq {
			return nil, fmt.Errorf("two journal entries for record %d (%s/%s, %s/%s)", es[i].Seq, es[i-1].Dataset, es[i-1].ID, es[i].Dataset, es[i].ID)
		}
	}
	first := infos[0]
	m := &Manifest{Software: first.Build.Software, Command: first.Command, StartedAt: first.StartedAt,
		Shards: first.Shards, Datasets: map[string]*DatasetCounts{}, Labels: map[string]map[string]int{},
		Sets: map[string]int{}, QuestionKinds: map[Kind]int{}, Failures: []Failure{}, NotDone: notDone(first.Build.Lesions),
		Lesions: first.Build.Lesions}
	for _, in := range infos {
		if in.StartedAt.Before(m.StartedAt) {
			m.StartedAt = in.StartedAt
		}
		m.Resumed += in.Resumed
	}
	for name, dc := range first.Datasets {
		c := *dc
		c.Analysed, c.FromCache, c.Failed, c.ExcludedEval, c.Sets = 0, 0, 0, 0, map[string]int{}
		m.Datasets[name] = &c
	}
	m.TestSplits = "excluded: records of official test splits are left out (--include-test keeps them), and so are their duplicates"
	if first.Build.IncludeTest {
		m.TestSplits = "included (--include-test): records of official test splits are in the test set"
	}
	if rewriter != "" {
		m.Rewriter = &RewriterCounts{Engine: rewriter, DroppedSamples: []string{}}
	}
	sets, sr := assignSets(es, first.ExcludeEval, split)
	m.Splits = sr

	rows := [][]string{FeatureHeader()}
	byset := map[string][2][]Sample{}
	for _, s := range []string{SetTrain, SetVal, SetTest} {
		byset[s] = [2][]Sample{{}, {}}
	}
	for i, e := range es {
		dc := m.Datasets[e.Dataset]
		if dc == nil {
			return nil, fmt.Errorf("journal entry of dataset %q not in the build", e.Dataset)
		}
		if e.HeldOut {
			continue
		}
		if sets[i] == SetEval {
			dc.ExcludedEval++
			continue
		}
		if e.Failure != nil {
			dc.Failed++
			m.Failures = append(m.Failures, *e.Failure)
			continue
		}
		dc.Analysed++
		dc.Sets[sets[i]]++
		m.Sets[sets[i]]++
		if e.FromCache {
			dc.FromCache++
		}
		row := append([]string(nil), e.Row...)
		row[colSet] = sets[i]
		rows = append(rows, row)
		for j, name := range labelColumns {
			v := row[colLabels+j]
			if v == "" {
				continue
			}
			if m.Labels[name] == nil {
				m.Labels[name] = map[string]int{}
			}
			m.Labels[name][v]++
		}
		ss := byset[sets[i]]
		if e.Stage1 != nil {
			ss[0] = append(ss[0], *e.Stage1)
		}
		if e.Stage2 != nil {
			ss[1] = append(ss[1], *e.Stage2)
			for _, k := range e.Kinds {
				m.QuestionKinds[k]++
			}
		}
		byset[sets[i]] = ss
		for _, d := range e.Dropped {
			m.DroppedTurns = append(m.DroppedTurns, e.Dataset+"/"+e.ID+" "+d)
		}
		if m.Rewriter != nil && e.Rewrite != nil {
			m.Rewriter.Rewritten += e.Rewrite.Answers
			for _, d := range e.Rewrite.Dropped {
				m.Rewriter.DroppedSamples = append(m.Rewriter.DroppedSamples, e.Dataset+"/"+e.ID+" "+d)
			}
			m.Rewriter.Dropped += len(e.Rewrite.Dropped)
		}
	}
	for _, s := range byset {
		m.Stage1Samples += len(s[0])
		m.Stage2Samples += len(s[1])
	}
	csvData, err := encodeCSV(rows)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(out, FeaturesFile), csvData); err != nil {
		return nil, err
	}
	pq, err := encodeParquet(rows)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(filepath.Join(out, FeaturesParquetFile), pq); err != nil {
		return nil, err
	}
	files := []struct {
		name string
		set  string
		st   int
	}{{Stage1File, SetTrain, 0}, {Stage2File, SetTrain, 1}, {Stage1ValFile, SetVal, 0}, {Stage2ValFile, SetVal, 1},
		{Stage1TestFile, SetTest, 0}, {Stage2TestFile, SetTest, 1}}
	m.Outputs = []string{FeaturesFile, FeaturesParquetFile}
	for _, f := range files {
		if err := WriteJSON(filepath.Join(out, f.name), byset[f.set][f.st]); err != nil {
			return nil, err
		}
		m.Outputs = append(m.Outputs, f.name)
	}
	m.Outputs = append(m.Outputs, ManifestFile)
	m.FinishedAt = now().UTC()
	return m, WriteJSON(filepath.Join(out, ManifestFile), m)
}
