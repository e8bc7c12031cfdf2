package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/eval"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/quality"
)

type evalQualityFlags struct {
	root    string
	workers int
	jsonOut bool
}

func newEvalQualityCmd() *cobra.Command {
	var f evalQualityFlags
	cmd := &cobra.Command{
		Use:   "quality --root DIR",
		Short: "Quality and modality gate: EyeQ 3-class accuracy, reject AUC, false non-fundus rate",
		Long: `Evaluate the quality and modality gate on a folder in the layout of
../shared/datasets/eye_diseases_4class: DIR/labels.csv with a column image
(path relative to DIR) and a column eyeq_quality (EyeQ's expert grade: 0
good, 1 usable, 2 reject; empty where not graded); an optional column
source_by_filename splits the modality figures by source.

On the graded photos: the confusion matrix (EyeQ against the gate, photos
refused as not fundus counted as reject), accuracy, recall per grade, and
the AUC of the gate's reject score for reject against the rest. On every
photo of the folder, all real fundus photographs: the share the modality
check calls "not a colour fundus photograph" (false rejections).

The shared copy's 382 graded photos are the gate's calibration set: figures
on it are training-set figures. docs/quality.md gives the 5-fold
cross-validated ones (go test ./internal/quality -run TestEyeQ -v). EyeQ
labels: Fu et al. 2019, CC BY-NC-SA 4.0.`,
		Example: `  retinalgpt eval quality --root ../shared/datasets/eye_diseases_4class
  retinalgpt eval quality --root DIR --json`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalQuality(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "photos assessed at once")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

// qualityVerdict runs the gate on one photo for eval.
func qualityVerdict(_ context.Context, img *fundus.Image) (eval.QualityVerdict, error) {
	a := quality.Check(img, quality.Options{})
	v := eval.QualityVerdict{
		IsFundus:     a.Modality.IsFundus,
		Grade:        int(a.Quality.Grade),
		RejectScore:  a.Quality.RejectScore,
		NotGoodScore: 1 - a.Quality.Probabilities[quality.Good],
		Reasons:      a.Modality.Reasons,
	}
	if !v.IsFundus {
		v.NotGoodScore = 1
	}
	return v, nil
}

func runEvalQuality(cmd *cobra.Command, f evalQualityFlags) error {
	if f.root == "" {
		return usageError{errors.New("--root is required")}
	}
	if f.workers < 1 {
		return usageError{fmt.Errorf("--workers %d: want at least 1", f.workers)}
	}
	samples, err := eval.OpenQualitySet(f.root)
	if err != nil {
		return err
	}
	rep, err := eval.EvalQuality(cmd.Context(), f.root, samples, qualityVerdict, f.workers, progressEvery(cmd.ErrOrStderr(), 50))
	if err != nil {
		return err
	}
	if f.jsonOut {
		return newJSONEncoder(cmd.OutOrStdout()).Encode(rep)
	}
	printQualityTable(cmd.OutOrStdout(), rep)
	return nil
}

func printQualityTable(w io.Writer, r *eval.QualityReport) {
	opt := func(v *float64, format string) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf(format, *v)
	}
	fmt.Fprintf(w, "Quality and modality gate: %d photos in %s, %d graded by EyeQ\n\n", r.Images, r.Root, r.Graded)
	if r.Graded > 0 {
		fmt.Fprintln(w, "EyeQ grade (rows) against the gate (columns); not fundus counts as reject:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tgood\tusable\treject\trecall\t")
		for i, name := range []string{"good", "usable", "reject"} {
			c := r.Confusion[i]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t\n", name, c[0], c[1], c[2], opt(r.Recall[i], "%.3f"))
		}
		tw.Flush()
		fmt.Fprintf(w, "\naccuracy %s; reject-vs-rest AUC %s; usable+reject vs good AUC %s; EyeQ-good photos rejected %d\n\n",
			opt(r.Accuracy, "%.3f"), opt(r.RejectAUC, "%.3f"), opt(r.NotGoodAUC, "%.3f"), r.GoodRefused)
	}
	fmt.Fprintln(w, "Modality: real fundus photos refused as not a colour fundus photograph")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tphotos\tnot fundus\trate\t")
	for _, c := range append(r.BySource, r.Modality) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f%%\t\n", c.Source, c.Images, c.NotFundus, 100*c.Rate)
	}
	tw.Flush()
	const show = 10
	for i, x := range r.Refused {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more (--json lists all)\n", len(r.Refused)-show)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", x.Image, strings.Join(x.Reasons, "; "))
	}
	fmt.Fprintf(w, "\nmedian %.3f s per photo (decode and gate), %.1f s in all\n", r.PerImageS, r.Seconds)
}
