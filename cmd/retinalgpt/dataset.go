package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/instruct"
	"github.com/retinalgpt/retinalgpt/internal/quality"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

type datasetBuildFlags struct {
	rt             runtimeFlags
	datasets       string
	out            string
	limit          int
	workers        int
	cache          string
	includeTest    bool
	lesions        bool
	shard          string
	shards         int
	excludeEval    string
	quiet          bool
	rewriter       string
	rewriterURL    string
	rewriterModel  string
	nearThreshold  int
	minCorrelation float64
}

func newDatasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Build LLaVA instruction data from public retinal datasets",
		Args:  checkArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDatasetBuildCmd(), newDatasetMergeCmd(), newDatasetDedupCmd())
	return cmd
}

func newDatasetBuildCmd() *cobra.Command {
	var f datasetBuildFlags
	cmd := &cobra.Command{
		Use:   "build --datasets NAME=ROOT[,NAME=ROOT...] --out DIR",
		Short: "Analyse every image of the named datasets and write LLaVA training data",
		Long: `Read each named dataset in its published layout (see docs/datasets.md; names:
` + strings.Join(dataset.Names(), ", ") + `), analyse every image (or reuse
the Report cached in --cache under the image's SHA-256), and write into --out,
each file atomically:

  features.csv, features.parquet  one row per image: dataset, image, split
                         (published), set (assigned train/val/test), id, sha256,
                         phash, the labels, AutoMorph-named biomarkers (all
                         vessels, Artery_, Vein_, _zone_b, _zone_c), CRAE/CRVE/
                         AVR, quality, disc, calibration
  stage1_alignment.json  LLaVA one-turn descriptions of the train set
  stage2_instruct.json   LLaVA conversations of 3-6 turns of the train set
                         (every number checked against the Report and labels)
  *_val.json, *_test.json  the same for the val and test sets
  manifest.json          counts, duplicate groups, failures, software, models

Sets are assigned per group of images (identical files, near duplicates by
perceptual hash, one patient's photos), stable across runs; official test
splits stay test (and are left out unless --include-test), --exclude-eval
images and their duplicates are left out.

--lesions also runs the experimental lesion stage (seconds per photo), and
every conversation about a photo with a lesions section asks about its
lesions: counts, quadrants in words and RetinalGPT's normalized boxes
[x_min, y_min, x_max, y_max]. Its Reports are cached apart
(<sha256>-lesions.json), and a journal of a build without it is refused.

The build is resumable: each finished record goes to --out/journal/ at once;
the same command after a kill or Ctrl-C does only the rest. --shard i/n (or
--shards n with $JOB_COMPLETION_INDEX, as in a Kubernetes Indexed Job)
builds one shard into --out/shard-i-of-n/; 'dataset merge' then writes the
outputs, identical to a single-process run's.`,
		Example: `  retinalgpt dataset build --datasets drive=../shared/datasets/drive --out data/ --limit 5
  retinalgpt dataset build --datasets idrid_grading=../shared/datasets/idrid/grading,drishti_gs1=../shared/datasets/drishti_gs1 --out data/ --cache reports/
  retinalgpt dataset build --datasets drive=../shared/datasets/drive --out work/ --shard 0/4   # then 1/4, 2/4, 3/4
  retinalgpt dataset merge --out data/ work/shard-*-of-4
  retinalgpt dataset build --datasets idrid_segmentation=../shared/datasets/idrid/segmentation --out data-lesions/ --lesions
  OPENAI_API_KEY=... retinalgpt dataset build --datasets drive=../shared/datasets/drive --out data/ --rewriter openai`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runDatasetBuild(cmd, f) },
	}
	f.rt.register(cmd)
	registerSplitFlags(cmd, &f)
	fl := cmd.Flags()
	fl.StringVar(&f.datasets, "datasets", "", "comma-separated NAME=ROOT pairs (required)")
	fl.StringVarP(&f.out, "out", "o", "", "output folder (required)")
	fl.IntVar(&f.limit, "limit", 0, "at most N records per dataset (0: all)")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "photos analysed at once (each model run on --threads threads, default 1 here: one photo per core)")
	fl.StringVar(&f.cache, "cache", "", "folder of cached Reports named by image SHA-256 (read and written)")
	fl.BoolVar(&f.includeTest, "include-test", false, "keep records of official test splits (in the test set)")
	fl.BoolVar(&f.lesions, "lesions", false, "also run the lesion stage, so conversations ask about lesions (counts, quadrants, normalized boxes): "+
		"EXPERIMENTAL and slow (seconds per photo), weak model (see models/lesions.md); part of the build's identity, cached Reports kept apart")
	fl.StringVar(&f.shard, "shard", "", "build shard i of n (0-based, \"i/n\") into --out/shard-i-of-n")
	fl.IntVar(&f.shards, "shards", 0, "build shard $JOB_COMPLETION_INDEX of n (Kubernetes Indexed Job) into --out/shard-i-of-n")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar (it is shown only when stderr is a terminal)")
	fl.StringVar(&f.rewriter, "rewriter", "", "paraphrase every answer with an LLM: openai or ollama (numbers re-checked; see docs/datasets.md)")
	fl.StringVar(&f.rewriterURL, "rewriter-url", "", "the rewriter's base URL: openai an OpenAI-compatible one (default https://api.openai.com/v1), ollama the server's (default http://127.0.0.1:11434)")
	fl.StringVar(&f.rewriterModel, "rewriter-model", "", "the rewriter's model (default gpt-4o-mini, ollama llama3.1)")
	return cmd
}

// registerSplitFlags adds the flags that set the train/val/test assignment.
func registerSplitFlags(cmd *cobra.Command, f *datasetBuildFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.excludeEval, "exclude-eval", "", "file of benchmark images (paths, SHA-256 or pHash hex, one a line) kept out of the data with their duplicates")
	fl.IntVar(&f.nearThreshold, "near-threshold", instruct.DefaultNearThreshold, "largest pHash Hamming distance of a near-duplicate candidate")
	fl.Float64Var(&f.minCorrelation, "min-correlation", instruct.DefaultMinCorrelation, "smallest thumbnail correlation that confirms a near duplicate")
}

func (f datasetBuildFlags) split() instruct.SplitConfig {
	return instruct.SplitConfig{NearThreshold: f.nearThreshold, MinCorrelation: f.minCorrelation}
}

// shardOf resolves --shard i/n or --shards n with $JOB_COMPLETION_INDEX.
func (f datasetBuildFlags) shardOf() (i, n int, err error) {
	switch {
	case f.shard != "" && f.shards != 0:
		return 0, 0, errors.New("--shard and --shards: give one")
	case f.shard != "":
		a, b, ok := strings.Cut(f.shard, "/")
		i, e1 := strconv.Atoi(a)
		n, e2 := strconv.Atoi(b)
		if !ok || e1 != nil || e2 != nil || n < 1 || i < 0 || i >= n {
			return 0, 0, fmt.Errorf("--shard %q: want i/n with 0 <= i < n", f.shard)
		}
		return i, n, nil
	case f.shards != 0:
		idx := os.Getenv("JOB_COMPLETION_INDEX")
		i, err := strconv.Atoi(idx)
		if f.shards < 1 || err != nil || i < 0 || i >= f.shards {
			return 0, 0, fmt.Errorf("--shards %d needs $JOB_COMPLETION_INDEX in 0..%d (got %q)", f.shards, f.shards-1, idx)
		}
		return i, f.shards, nil
	}
	return 0, 1, nil
}

// progress returns a progress callback drawing a bar with rate and ETA on
// w, or nil when quiet or w is not a terminal.
func progress(w io.Writer, quiet bool, what string) (func(done, total int), func()) {
	f, ok := w.(*os.File)
	if quiet || !ok {
		return nil, func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	var mu sync.Mutex
	return func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("img"),
					progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(30),
					progressbar.OptionShowElapsedTimeOnFinish())
			}
			bar.Set(done)
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			if bar != nil {
				bar.Finish()
				fmt.Fprintln(w)
			}
		}
}

// parseSources reads NAME=ROOT[,NAME=ROOT...].
func parseSources(s string) ([]instruct.Source, error) {
	var out []instruct.Source
	for _, part := range strings.Split(s, ",") {
		name, root, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || root == "" {
			return nil, fmt.Errorf("--datasets: %q is not NAME=ROOT", part)
		}
		out = append(out, instruct.Source{Name: name, Root: root})
	}
	return out, nil
}

// failureKind names why a photo failed, for the manifest.
func failureKind(err error) string {
	switch {
	case errors.Is(err, quality.ErrNotFundus), errors.Is(err, fundus.ErrNoFOV):
		return "not_fundus"
	case errors.Is(err, fundus.ErrEmpty), errors.Is(err, fundus.ErrCorrupt),
		errors.Is(err, fundus.ErrUnsupported), errors.Is(err, fundus.ErrTooLarge):
		return "bad_image"
	}
	return "error"
}

func runDatasetBuild(cmd *cobra.Command, f datasetBuildFlags) error {
	if f.datasets == "" || f.out == "" {
		return usageError{errors.New("--datasets and --out are required")}
	}
	if f.workers < 1 || f.limit < 0 {
		return usageError{errors.New("--workers must be at least 1 and --limit not negative")}
	}
	srcs, err := parseSources(f.datasets)
	if err != nil {
		return usageError{err}
	}
	for _, s := range srcs {
		if !contains(dataset.Names(), s.Name) {
			return usageError{fmt.Errorf("--datasets: %w %q (known: %s)", dataset.ErrUnknownDataset, s.Name, strings.Join(dataset.Names(), ", "))}
		}
	}
	shard, shards, err := f.shardOf()
	if err != nil {
		return usageError{err}
	}
	out := f.out
	if shards > 1 {
		out = filepath.Join(f.out, fmt.Sprintf("shard-%d-of-%d", shard, shards))
	}
	var eval []instruct.EvalPrint
	if f.excludeEval != "" {
		if eval, err = instruct.ReadEvalList(f.excludeEval); err != nil {
			return fmt.Errorf("--exclude-eval: %w", err)
		}
	}
	var rw instruct.Rewriter
	rwName := ""
	if f.rewriter != "" {
		url, model, key := f.rewriterURL, f.rewriterModel, ""
		switch f.rewriter {
		case "openai":
			url, model, key = cmp.Or(url, "https://api.openai.com/v1"), cmp.Or(model, "gpt-4o-mini"), os.Getenv("OPENAI_API_KEY")
		case "ollama":
			url, model, key = cmp.Or(url, "http://127.0.0.1:11434"), cmp.Or(model, "llama3.1"), os.Getenv("OLLAMA_API_KEY")
		default:
			return usageError{fmt.Errorf("--rewriter %q: want openai or ollama", f.rewriter)}
		}
		if f.rewriter == "ollama" {
			rw, err = instruct.NewOllamaRewriter(url, model, key) // Ollama's native chat API
		} else {
			rw, err = instruct.NewOpenAIRewriter(url, model, key)
		}
		if err != nil {
			return usageError{err}
		}
		rwName = f.rewriter + " " + model + " at " + url
	}
	if !cmd.Flags().Changed("threads") {
		f.rt.threads = 1 // one photo per core: --workers photos at once
	}
	ms, err := embeddedModels()
	if err != nil {
		return err
	}
	sw := instruct.Software{Name: "retinalgpt", Version: softwareVersion(), GoVersion: runtime.Version(), ReportSchema: report.SchemaVersion}
	for _, m := range ms {
		sw.Models = append(sw.Models, report.Model{Name: m.name, Version: m.version, SHA256: m.sha256})
	}
	var an *analysis.Analyzer
	defer func() {
		if an != nil {
			an.Close()
		}
	}()
	// The analyzer loads lazily, so a fully cached build needs no ONNX Runtime.
	var loadErr error
	loaded := false
	var mu sync.Mutex
	lim := fundus.Limits{MaxPixels: 100e6}
	analyze := func(ctx context.Context, data []byte, name string) (*report.Report, error) {
		mu.Lock()
		if !loaded {
			an, loadErr = f.rt.analyzer()
			loaded = true
		}
		a, lerr := an, loadErr
		mu.Unlock()
		if lerr != nil {
			return nil, lerr
		}
		img, err := fundus.Decode(bytes.NewReader(data), name, lim)
		if err != nil {
			return nil, err
		}
		res, err := a.Analyze(ctx, img, analysis.Options{Size: analysis.DefaultSize, Lesions: f.lesions})
		if err != nil {
			return nil, err
		}
		return res.Report, nil
	}
	onProgress, finish := progress(cmd.ErrOrStderr(), f.quiet, "dataset build")
	m, err := instruct.Run(cmd.Context(), instruct.Config{Sources: srcs, Out: out, Limit: f.limit, Workers: f.workers,
		Cache: f.cache, IncludeTest: f.includeTest, Lesions: f.lesions, Shard: shard, Shards: shards, ExcludeEval: eval, Split: f.split(),
		Rewriter: rw, RewriterName: rwName, Analyze: analyze, Classify: failureKind, Software: sw,
		Command: os.Args, OnProgress: onProgress})
	finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted: the finished records are in %s; the same command resumes", filepath.Join(out, instruct.JournalDir))
		}
		return err
	}
	if loadErr != nil {
		return fmt.Errorf("no photo could be analysed: %w", loadErr)
	}
	w := cmd.OutOrStdout()
	if m == nil {
		fmt.Fprintf(w, "shard %d of %d done in %s; when all are, run: retinalgpt dataset merge --out DIR %s\n", shard, shards, out,
			filepath.Join(f.out, fmt.Sprintf("shard-*-of-%d", shards)))
		return nil
	}
	printManifest(w, m, srcs, out)
	return nil
}

func printManifest(w io.Writer, m *instruct.Manifest, srcs []instruct.Source, out string) {
	for _, s := range srcs {
		d := m.Datasets[s.Name]
		fmt.Fprintf(w, "%s: %d records, %d analysed (%d from cache), %d failed, %d test-split left out, %d over --limit, %d label-file problems\n",
			s.Name, d.Records, d.Analysed, d.FromCache, d.Failed, d.ExcludedTest, d.Limited, len(d.Problems))
	}
	fmt.Fprintf(w, "sets: %d train, %d val, %d test; %s\n", m.Sets[instruct.SetTrain], m.Sets[instruct.SetVal], m.Sets[instruct.SetTest], instruct.GroupSummary(m.Splits))
	if m.Rewriter != nil {
		fmt.Fprintf(w, "rewriter: %d answers paraphrased, %d samples dropped (numbers changed)\n", m.Rewriter.Rewritten, m.Rewriter.Dropped)
	}
	fmt.Fprintf(w, "wrote %d stage-1 and %d stage-2 samples to %s (see %s)\n", m.Stage1Samples, m.Stage2Samples, out, instruct.ManifestFile)
}

func newDatasetMergeCmd() *cobra.Command {
	var out string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "merge --out DIR SHARD_DIR...",
		Short: "Combine the shards of a sharded dataset build into its outputs",
		Long: `Read the journals of every shard of one 'dataset build --shard i/n' (or
--shards n) and write into --out exactly the outputs a single-process build
writes (the manifest's command, timestamps, resumed and shards apart). Every
shard must be given, once, and complete.`,
		Example: "  retinalgpt dataset merge --out data/ work/shard-*-of-8",
		Args:    checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError{errors.New("--out is required")}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			m, err := instruct.Merge(cmd.Context(), out, args, nil)
			if err != nil {
				return err
			}
			var srcs []instruct.Source
			for name, d := range m.Datasets {
				srcs = append(srcs, instruct.Source{Name: name, Root: d.Root})
			}
			sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
			printManifest(cmd.OutOrStdout(), m, srcs, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output folder (required)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "unused; for symmetry with build")
	return cmd
}

func newDatasetDedupCmd() *cobra.Command {
	var f datasetBuildFlags
	var jsonOut string
	cmd := &cobra.Command{
		Use:   "dedup --datasets NAME=ROOT[,NAME=ROOT...]",
		Short: "Find identical and near-duplicate images and show the train/val/test assignment, without analysing",
		Long: `Hash every image of the named datasets (SHA-256, a 64-bit DCT perceptual hash
over the eight flips and turns, a 16x16 thumbnail) and report the duplicate
groups and the set each image would get in 'dataset build' (same rules, no
analysis: a few milliseconds per image).`,
		Example: "  retinalgpt dataset dedup --datasets eye_diseases_4class=../shared/datasets/eye_diseases_4class --json groups.json",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.datasets == "" {
				return usageError{errors.New("--datasets is required")}
			}
			srcs, err := parseSources(f.datasets)
			if err != nil {
				return usageError{err}
			}
			var eval []instruct.EvalPrint
			if f.excludeEval != "" {
				if eval, err = instruct.ReadEvalList(f.excludeEval); err != nil {
					return fmt.Errorf("--exclude-eval: %w", err)
				}
			}
			onProgress, finish := progress(cmd.ErrOrStderr(), f.quiet, "dataset dedup")
			rep, counts, err := instruct.Dedup(cmd.Context(), instruct.Config{Sources: srcs, Limit: f.limit, IncludeTest: f.includeTest,
				Workers: f.workers, ExcludeEval: eval, Split: f.split(), OnProgress: onProgress})
			finish()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintln(w, instruct.GroupSummary(rep))
			fmt.Fprintf(w, "sets: %d train, %d val, %d test, %d excluded as --exclude-eval duplicates; %d patient groups\n",
				counts[instruct.SetTrain], counts[instruct.SetVal], counts[instruct.SetTest], counts[instruct.SetEval], rep.PatientGroups)
			if jsonOut != "" {
				return instruct.WriteJSON(jsonOut, rep)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.datasets, "datasets", "", "comma-separated NAME=ROOT pairs (required)")
	fl.IntVar(&f.limit, "limit", 0, "at most N records per dataset (0: all)")
	fl.IntVar(&f.workers, "workers", runtime.NumCPU(), "images hashed at once")
	fl.BoolVar(&f.includeTest, "include-test", false, "as for build")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	fl.StringVar(&jsonOut, "json", "", "also write the groups and settings as JSON to this file")
	registerSplitFlags(cmd, &f)
	return cmd
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
