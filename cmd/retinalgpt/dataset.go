package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/dataset"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/instruct"
	"github.com/retinalgpt/retinalgpt/internal/quality"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

type datasetBuildFlags struct {
	rt          runtimeFlags
	datasets    string
	out         string
	limit       int
	workers     int
	cache       string
	includeTest bool
}

func newDatasetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Build LLaVA instruction data from public retinal datasets",
		Args:  checkArgs(cobra.NoArgs),
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDatasetBuildCmd())
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

  features.csv           one row per image: dataset, image, split, id, sha256,
                         the labels in the common vocabulary, AutoMorph-named
                         biomarkers (all vessels, Artery_, Vein_, _zone_b,
                         _zone_c), CRAE/CRVE/AVR, quality, disc, calibration
  stage1_alignment.json  LLaVA one-turn descriptions (the assistant's overview
                         of the Report, then the labels)
  stage2_instruct.json   LLaVA conversations of 3-6 turns, questions drawn
                         deterministically from the image hash; report answers
                         from the built-in assistant, label answers from the
                         labels; every number checked against the Report and
                         labels (a turn that fails is dropped and listed)
  manifest.json          counts per dataset, label and question kind, failures
                         with reasons, software, schema and model versions,
                         the command line and timestamps

Records of official test splits are left out unless --include-test. A photo
that cannot be analysed (corrupt, not a fundus photo) is listed in the
manifest's failures, never dropped silently; the command then still succeeds.

Not done yet: Parquet output (CSV only), the --rewriter LLM pass, leak-free
splits with duplicate detection, resume, sharding and merge.`,
		Example: `  retinalgpt dataset build --datasets drive=../shared/datasets/drive --out data/ --limit 5
  retinalgpt dataset build --datasets idrid_grading=../shared/datasets/idrid/grading,drishti_gs1=../shared/datasets/drishti_gs1 --out data/ --cache reports/`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runDatasetBuild(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.datasets, "datasets", "", "comma-separated NAME=ROOT pairs (required)")
	fl.StringVarP(&f.out, "out", "o", "", "output folder (required)")
	fl.IntVar(&f.limit, "limit", 0, "at most N records per dataset (0: all)")
	fl.IntVar(&f.workers, "workers", max(runtime.NumCPU()/2, 1), "photos analysed at once")
	fl.StringVar(&f.cache, "cache", "", "folder of cached Reports named by image SHA-256 (read and written)")
	fl.BoolVar(&f.includeTest, "include-test", false, "keep records of official test splits")
	return cmd
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
		res, err := a.Analyze(ctx, img, analysis.Options{Size: analysis.DefaultSize})
		if err != nil {
			return nil, err
		}
		return res.Report, nil
	}
	m, err := instruct.Run(cmd.Context(), instruct.Config{Sources: srcs, Out: f.out, Limit: f.limit, Workers: f.workers,
		Cache: f.cache, IncludeTest: f.includeTest, Analyze: analyze, Classify: failureKind, Software: sw,
		Command: os.Args, Progress: cmd.ErrOrStderr()})
	if err != nil {
		return err
	}
	if loadErr != nil {
		return fmt.Errorf("no photo could be analysed: %w", loadErr)
	}
	w := cmd.OutOrStdout()
	for _, s := range srcs {
		d := m.Datasets[s.Name]
		fmt.Fprintf(w, "%s: %d records, %d analysed (%d from cache), %d failed, %d test-split left out, %d over --limit, %d label-file problems\n",
			s.Name, d.Records, d.Analysed, d.FromCache, d.Failed, d.ExcludedTest, d.Limited, len(d.Problems))
	}
	fmt.Fprintf(w, "wrote %d stage-1 and %d stage-2 samples to %s (see %s)\n", m.Stage1Samples, m.Stage2Samples, f.out, instruct.ManifestFile)
	return nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
