package instruct

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Output file names.
const (
	FeaturesFile        = "features.csv"
	FeaturesParquetFile = "features.parquet"
	Stage1File          = "stage1_alignment.json"
	Stage2File          = "stage2_instruct.json"
	Stage1ValFile       = "stage1_alignment_val.json"
	Stage2ValFile       = "stage2_instruct_val.json"
	Stage1TestFile      = "stage1_alignment_test.json"
	Stage2TestFile      = "stage2_instruct_test.json"
	ManifestFile        = "manifest.json"
	// ShardFile and JournalDir are a build's work: what it was asked to do
	// and one file per finished record. They stay after the build, so a
	// killed run resumes and `dataset merge` can combine shards.
	ShardFile  = "shard.json"
	JournalDir = "journal"
)

// Source is one dataset to read: a dataset.Names() name and its root.
type Source struct {
	Name string `json:"name"`
	Root string `json:"root"`
}

// AnalyzeFunc analyses one photo (its bytes and file name) into a Report.
// Its error is recorded as the record's failure; Classify names its kind.
type AnalyzeFunc func(ctx context.Context, data []byte, name string) (*report.Report, error)

// Software is what wrote the data: software and report schema versions
// and every model (as `retinalgpt version` lists them).
type Software struct {
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	GoVersion    string         `json:"go_version,omitempty"`
	ReportSchema string         `json:"report_schema"`
	Models       []report.Model `json:"models"`
}

// Config is one build. Zero values: Workers 1, no Limit, no cache, test
// splits excluded, one shard, DefaultSplit.
type Config struct {
	Sources []Source
	// Out receives the outputs, and the journal and shard.json that make
	// the build resumable. With Shards > 1 it receives only the journal
	// and shard.json of shard Shard (Merge writes the outputs).
	Out string
	// Limit is the most records per dataset (after the test-split
	// exclusion); 0 means all.
	Limit   int
	Workers int
	// Cache is a folder of Reports named by the image's SHA-256
	// (CacheName); empty means no cache.
	Cache string
	// Lesions says the Analyze function runs the (experimental, slow)
	// lesion stage, so the Reports have a lesions section and the
	// conversations ask about lesions. It is part of the build's identity
	// (Build) and of the cache's file names (CacheName): a Report analysed
	// without lesions is never reused by a build with them, nor the other
	// way round.
	Lesions     bool
	IncludeTest bool
	// Shard (0-based) of Shards: this build does the records whose
	// ShardOf is Shard. Shards 0 or 1 means one build does everything.
	Shard, Shards int
	// ExcludeEval are benchmark images (EvalPrints) kept out of the data
	// with every image found to duplicate them.
	ExcludeEval []EvalPrint
	Split       SplitConfig
	// Rewriter, when set, paraphrases every answer; a sample whose
	// paraphrase changed, added or dropped a number (SameNumbers) is
	// dropped (and listed).
	Rewriter Rewriter
	// RewriterName describes it in the manifest ("openai gpt-4o-mini at …").
	RewriterName string
	Analyze      AnalyzeFunc
	// Classify names a failure's kind ("not_fundus", "bad_image", …);
	// nil means "error".
	Classify func(error) string
	Software Software
	Command  []string
	// OnProgress is called after each record (done of total, this
	// shard's records; resumed ones count as done from the start).
	OnProgress func(done, total int)
	// Now is the clock for the manifest's timestamps; nil is time.Now.
	Now func() time.Time
}

// Failure is a record whose photo could not be analysed or turned into
// conversations.
type Failure struct {
	Dataset string `json:"dataset"`
	ID      string `json:"id"`
	Image   string `json:"image"`
	Kind    string `json:"kind"`
	Reason  string `json:"reason"`
}

// DatasetCounts are one dataset's numbers in the manifest.
type DatasetCounts struct {
	Root         string `json:"root"`
	Records      int    `json:"records"`
	ExcludedTest int    `json:"excluded_test_split"`
	Limited      int    `json:"left_out_by_limit"`
	Analysed     int    `json:"analysed"`
	FromCache    int    `json:"from_cache"`
	Failed       int    `json:"failed"`
	// Sets counts analysed records per assigned set (train/val/test).
	Sets map[string]int `json:"sets,omitempty"`
	// ExcludedEval are records left out as (duplicates of) --exclude-eval images.
	ExcludedEval int               `json:"excluded_eval,omitempty"`
	Problems     []dataset.Problem `json:"problems,omitempty"`
}

// RewriterCounts are the paraphrase pass's numbers in the manifest.
type RewriterCounts struct {
	Engine    string `json:"engine"`
	Rewritten int    `json:"rewritten_answers"`
	// DroppedSamples are samples left out because a paraphrase changed,
	// added or dropped a number ("dataset/id stage2: answer 2 lost 0.0642,
	// added 0.0643").
	DroppedSamples []string `json:"dropped_samples"`
	Dropped        int      `json:"dropped"`
}

// Manifest describes one build. StartedAt, FinishedAt, Command, Resumed
// and Shards describe the run, not the data: they are the only fields
// that differ between an uninterrupted run, a killed and resumed one and
// merged shards of the same build.
type Manifest struct {
	Software   Software  `json:"software"`
	Command    []string  `json:"command"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Resumed    int       `json:"resumed"`
	Shards     int       `json:"shards"`
	TestSplits string    `json:"test_splits"`
	// Lesions: the Reports come from the lesion stage too (--lesions),
	// so conversations ask about lesions where the Report found any.
	Lesions  bool                      `json:"lesions"`
	Datasets map[string]*DatasetCounts `json:"datasets"`
	// Labels counts records per label and value (features.csv's cells).
	Labels map[string]map[string]int `json:"labels"`
	// Sets counts analysed records per assigned set.
	Sets          map[string]int `json:"sets"`
	Splits        SplitReport    `json:"splits"`
	Stage1Samples int            `json:"stage1_samples"`
	Stage2Samples int            `json:"stage2_samples"`
	// QuestionKinds counts stage-2 turns per question kind.
	QuestionKinds map[Kind]int `json:"question_kinds"`
	// DroppedTurns are stage-2 answers left out because they quoted a
	// number their own provenance does not give (Verify: the engine
	// answer's grounded facts; VerifyLabels: the labels), as
	// "dataset/id kind: numbers".
	DroppedTurns []string        `json:"dropped_turns,omitempty"`
	Rewriter     *RewriterCounts `json:"rewriter,omitempty"`
	Failures     []Failure       `json:"failures"`
	Outputs      []string        `json:"outputs"`
	NotDone      []string        `json:"not_done"`
}

// notDone is what issue 9 asks for that this build does not do.
func notDone(lesions bool) []string {
	if lesions {
		return []string{}
	}
	return []string{"lesion questions and boxes in answers (the lesion stage runs only with --lesions)"}
}

// ShardOf is the shard (0..n-1) that builds a record: an FNV-1a hash of
// "dataset/id", so a record's shard does not depend on the others.
func ShardOf(datasetName, id string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(datasetName + "/" + id))
	return int(h.Sum64() % uint64(n))
}

// planned is one record the build knows of, in the global order.
type planned struct {
	rec     dataset.Record
	image   string // relative LLaVA path: dataset/<path under root>
	heldOut bool   // official test split, left out: hashed only
}

// plan loads the sources and lists the records in order with the
// per-dataset counts.
func plan(cfg Config) ([]planned, map[string]*DatasetCounts, error) {
	counts := map[string]*DatasetCounts{}
	var out []planned
	for _, src := range cfg.Sources {
		recs, probs, err := dataset.Load(src.Name, src.Root)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset %s: %w", src.Name, err)
		}
		if counts[src.Name] != nil {
			return nil, nil, fmt.Errorf("dataset %s named twice", src.Name)
		}
		dc := &DatasetCounts{Root: src.Root, Records: len(recs), Problems: probs}
		counts[src.Name] = dc
		kept := 0
		for _, r := range recs {
			held := false
			if r.Split == dataset.SplitTest && !cfg.IncludeTest {
				dc.ExcludedTest++
				held = true
			} else if cfg.Limit > 0 && kept >= cfg.Limit {
				dc.Limited++
				continue
			} else {
				kept++
			}
			rel, err := filepath.Rel(src.Root, r.Image)
			if err != nil || rel == ".." || filepath.IsAbs(rel) || strings.HasPrefix(rel, "../") {
				rel = filepath.Base(r.Image)
			}
			out = append(out, planned{rec: r, image: filepath.ToSlash(filepath.Join(src.Name, rel)), heldOut: held})
		}
	}
	return out, counts, nil
}

// Run builds the data set as cfg says and returns its manifest (nil for
// one shard of several: Merge then writes the outputs).
//
// Every finished record is written at once, atomically, to
// Out/journal/, and what the build was asked to do to Out/shard.json; a
// run killed or cancelled part-way keeps them, and the same command run
// again does only the records not in the journal, with outputs
// byte-identical to an uninterrupted run (apart from the manifest's run
// fields). The outputs are written, each atomically, only when every
// record is done; a cancelled context returns ctx.Err().
func Run(ctx context.Context, cfg Config) (*Manifest, error) {
	if cfg.Analyze == nil {
		return nil, errors.New("instruct: no AnalyzeFunc")
	}
	if cfg.Out == "" {
		return nil, errors.New("instruct: no output folder")
	}
	shards := max(cfg.Shards, 1)
	if cfg.Shard < 0 || cfg.Shard >= shards {
		return nil, fmt.Errorf("instruct: shard %d of %d", cfg.Shard, shards)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	jdir := filepath.Join(cfg.Out, JournalDir)
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		return nil, err
	}
	if cfg.Cache != "" {
		if err := os.MkdirAll(cfg.Cache, 0o755); err != nil {
			return nil, err
		}
	}
	plans, counts, err := plan(cfg)
	if err != nil {
		return nil, err
	}
	info := &ShardInfo{Shard: cfg.Shard, Shards: shards, Build: cfg.fingerprint(), Command: cfg.Command,
		StartedAt: now().UTC(), Datasets: counts, ExcludeEval: cfg.ExcludeEval}
	if info.ExcludeEval == nil {
		info.ExcludeEval = []EvalPrint{}
	}
	if old, err := ReadShardInfo(cfg.Out); err == nil {
		if err := old.sameBuild(info); err != nil {
			return nil, fmt.Errorf("%s holds the journal of another build (%v): remove %s and %s, or choose another --out",
				cfg.Out, err, filepath.Join(cfg.Out, JournalDir), filepath.Join(cfg.Out, ShardFile))
		}
		info.StartedAt = old.StartedAt
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var mine []int
	for i, p := range plans {
		if ShardOf(p.rec.Dataset, p.rec.ID, shards) == cfg.Shard {
			mine = append(mine, i)
		}
	}
	info.Records = len(mine)
	if err := WriteJSON(filepath.Join(cfg.Out, ShardFile), info); err != nil {
		return nil, err
	}
	cleanTemps(jdir)
	cleanTemps(cfg.Out) // outputs a killed run was writing

	// Resume: a journalled entry is kept when its photo is unchanged and
	// it did not fail in a way a rerun may fix (retried).
	entries := make([]*Entry, len(plans))
	var todo []int
	resumed := 0
	for _, i := range mine {
		e, err := readEntry(jdir, plans[i].rec)
		if err == nil && e.Seq == i && e.Image == plans[i].image && e.HeldOut == plans[i].heldOut && sameRecord(e, plans[i].rec) &&
			(e.Failure == nil || !retried(e.Failure.Kind)) && unchanged(e, plans[i].rec.Image) {
			entries[i] = e
			resumed++
			continue
		}
		todo = append(todo, i)
	}
	info.Resumed = resumed

	var done atomic.Int64
	done.Store(int64(resumed))
	if cfg.OnProgress != nil {
		cfg.OnProgress(resumed, len(mine))
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range max(cfg.Workers, 1) {
		wg.Go(func() {
			for i := range jobs {
				e := process(ctx, cfg, i, plans[i])
				if e == nil { // cancelled
					continue
				}
				if err := writeEntry(jdir, e); err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				entries[i] = e
				n := done.Add(1)
				if cfg.OnProgress != nil {
					cfg.OnProgress(int(n), len(mine))
				}
			}
		})
	}
feed:
	for _, i := range todo {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	info.Complete = true
	info.FinishedAt = now().UTC()
	if err := WriteJSON(filepath.Join(cfg.Out, ShardFile), info); err != nil {
		return nil, err
	}
	if shards > 1 {
		return nil, nil
	}
	var es []*Entry
	for _, i := range mine {
		es = append(es, entries[i])
	}
	return finalize(cfg.Out, []*ShardInfo{info}, es, cfg.Split, cfg.RewriterName, now)
}

// sameRecord reports whether the journalled entry has the record's
// current labels, split and group (a label file may have been corrected).
func sameRecord(e *Entry, r dataset.Record) bool {
	a, _ := json.Marshal(e.Labels)
	b, _ := json.Marshal(r.Labels)
	return bytes.Equal(a, b) && e.OfficialSplit == r.Split && e.Group == r.Group && e.Path == r.Image
}

// retried reports whether a journalled failure of this kind is tried
// again on resume: "error" (ONNX Runtime missing, the rewriter
// unreachable: transient) and "conversation" (the Report's answers could
// not be verified). A conversation failure is deterministic for one
// binary, so retrying it costs one analysis (or cache read) and gives the
// same failure; but it is always a defect of the wording or the verifier,
// and a fixed binary whose version string did not change (a development
// build: the version names the commit, not uncommitted edits) would
// otherwise keep the stale failure. "unreadable" is retried by unchanged
// (no hash); "bad_image" and "not_fundus" belong to the file and are kept.
func retried(kind string) bool { return kind == "error" || kind == "conversation" }

// unchanged reports whether the file still has the journalled content.
func unchanged(e *Entry, path string) bool {
	if e.SHA256 == "" {
		return false // unreadable before: try again
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == e.SHA256
}

// process hashes one record's photo, analyses it (or reads its cached
// Report) and renders its conversations; failures land in the entry. It
// returns nil when ctx was cancelled during the analysis.
func process(ctx context.Context, cfg Config, seq int, p planned) *Entry {
	e := &Entry{Seq: seq, Dataset: p.rec.Dataset, ID: p.rec.ID, Image: p.image, Path: p.rec.Image,
		OfficialSplit: p.rec.Split, Group: p.rec.Group, Labels: p.rec.Labels, HeldOut: p.heldOut}
	fail := func(kind string, err error) *Entry {
		if kind == "" {
			kind = "error"
			if cfg.Classify != nil {
				kind = cfg.Classify(err)
			}
		}
		e.Failure = &Failure{Dataset: p.rec.Dataset, ID: p.rec.ID, Image: p.rec.Image, Kind: kind, Reason: err.Error()}
		return e
	}
	data, err := os.ReadFile(p.rec.Image)
	if err != nil {
		return fail("unreadable", err)
	}
	sum := sha256.Sum256(data)
	e.SHA256 = hex.EncodeToString(sum[:])
	e.PHash, e.Thumb, _ = Fingerprint(data, filepath.Base(p.rec.Image)) // an undecodable photo fails below
	if p.heldOut {
		return e
	}
	var rep *report.Report
	cachePath := ""
	if cfg.Cache != "" {
		cachePath = filepath.Join(cfg.Cache, CacheName(e.SHA256, cfg.Lesions))
		if f, err := os.Open(cachePath); err == nil {
			r, err := report.Decode(f)
			f.Close()
			if err == nil {
				rep, e.FromCache = r, true
			}
		}
	}
	if rep == nil {
		r, err := cfg.Analyze(ctx, data, filepath.Base(p.rec.Image))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fail("", err)
		}
		rep = r
		if cachePath != "" {
			if b, err := encodeReport(rep); err == nil {
				_ = WriteFileAtomic(cachePath, b) // a cache that cannot be written only costs time
			}
		}
	}
	id := p.rec.Dataset + "/" + p.rec.ID
	s1, err := Stage1(ctx, id, p.image, e.SHA256, rep, p.rec.Labels)
	if err != nil {
		return fail("conversation", err)
	}
	s2, err := Stage2(ctx, id, p.image, e.SHA256, rep, p.rec.Labels)
	if err != nil {
		return fail("conversation", err)
	}
	e.Kinds, e.Dropped = s2.Kinds, s2.Dropped
	e.Stage1, e.Stage2 = &s1.Sample, &s2.Sample
	if cfg.Rewriter != nil {
		if err := rewriteEntry(ctx, cfg.Rewriter, e); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fail("error", fmt.Errorf("rewriter: %w", err))
		}
	}
	e.Row = featureRow(e, rep)
	return e
}

// CacheName is the file in Config.Cache holding the Report of the image
// whose SHA-256 is sha: "<sha>.json", or "<sha>-lesions.json" for a
// Report analysed with the lesion stage.
func CacheName(sha string, lesions bool) string {
	if lesions {
		return sha + "-lesions.json"
	}
	return sha + ".json"
}

func encodeReport(r *report.Report) ([]byte, error) {
	var b bytes.Buffer
	if err := r.Encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
