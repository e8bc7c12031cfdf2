package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/eval"
)

type evalDiscFlags struct {
	rt      runtimeFlags
	dataset string
	root    string
	jsonOut bool
}

func newEvalDiscCmd() *cobra.Command {
	var f evalDiscFlags
	cmd := &cobra.Command{
		Use:   "disc --dataset drishti|idrid --root DIR",
		Short: "Optic disc and cup: Dice, vertical CDR error, glaucoma AUC, disc centre error",
		Long: `Evaluate the optic disc and cup pipeline exactly as analyze runs it (field
of view, disc and fovea locator, crop around the located disc, disc/cup
segmentation, plausibility checks) on a folder in the layout of
../shared/datasets/drishti_gs1: DIR/labels.csv (image, label
glaucoma|normal, cdr_mean, disc_center_x, disc_center_y, od_softmap,
cup_softmap), DIR/images/ and the four-expert soft maps it names.

Per image and overall: disc and cup Dice against the >= 2-of-4 expert masks
(soft map >= 128), with a disc reported "not found" scoring 0 (the _found
means leave those out); the vertical CDR's mean absolute error against the
mean of the experts' CDRs (labels.csv cdr_mean) and the glaucoma AUC of the
predicted vertical CDR, both over the discs found; the locator's disc
centre error against disc_center_x/y; and the count of discs not found.
The same vCDR figures for the >= 2-of-4 masks themselves show the ceiling
of the protocol.

The shared Drishti-GS1 copy is the TRAINING set of the shipped disc/cup
model (and part of the locator's): figures on it are training-set figures,
not test figures. The cross-validated ones (held-out folds, perturbed crop
centre and radius) are in the "cv" object of models/disccup.json, written
by train/disccup/train.py.

--dataset idrid reads the layout of ../shared/datasets/idrid/segmentation:
DIR/images/ID.jpg and DIR/OD/ID_OD.png (one expert's optic disc mask; no
cup, no labels), and scores the disc alone. The disc/cup model never saw
an IDRiD photo (another camera and a 50-degree field), so these are
out-of-domain test figures for the disc; the locator, though, was trained
on IDRiD grading photos, 16 of which are near-duplicates of these.`,
		Example: `  retinalgpt eval disc --dataset drishti --root ../shared/datasets/drishti_gs1
  retinalgpt eval disc --dataset drishti --root /data/drishti_test --json
  retinalgpt eval disc --dataset idrid --root ../shared/datasets/idrid/segmentation`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalDisc(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.dataset, "dataset", "drishti", "dataset layout: drishti (disc, cup, vCDR, glaucoma) or idrid (IDRiD segmentation: disc masks only)")
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

func runEvalDisc(cmd *cobra.Command, f evalDiscFlags) error {
	if f.root == "" {
		return usageError{errors.New("--root is required")}
	}
	if !slices.Contains(eval.DiscDatasets, f.dataset) {
		return usageError{fmt.Errorf("--dataset %q: the known layouts are %s", f.dataset, strings.Join(eval.DiscDatasets, ", "))}
	}
	samples, err := eval.OpenDiscSet(f.dataset, f.root)
	if err != nil {
		return err
	}
	an, err := f.rt.analyzer()
	if err != nil {
		return err
	}
	defer an.Close()
	stderr := cmd.ErrOrStderr()
	rep, err := eval.EvalDisc(cmd.Context(), f.dataset, f.root, samples, an.SegmentDisc, progressLine(stderr))
	if err != nil {
		return err
	}
	model := an.DiscCupModel()
	if f.jsonOut {
		return newJSONEncoder(cmd.OutOrStdout()).Encode(struct {
			*eval.DiscReport
			Model string `json:"model"`
		}{rep, model})
	}
	printDiscTable(cmd.OutOrStdout(), rep, model)
	return nil
}

func printDiscTable(w io.Writer, r *eval.DiscReport, model string) {
	fmt.Fprintf(w, "Optic disc and cup: %s, %d images, %s (model %s)\n", r.Dataset, r.N, r.Root, model)
	if r.CupDice == nil {
		fmt.Fprintf(w, "Disc Dice against the dataset's disc masks (not found = 0); no cup or CDR reference in this layout\n\n")
	} else {
		fmt.Fprintf(w, "Dice against the >= 2-of-4 expert masks (not found = 0); vCDR against the experts' mean CDR;\n")
		fmt.Fprintf(w, "locator error: located disc centre to labels.csv, px and reference disc radii\n\n")
	}
	opt := func(v *float64, format string) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf(format, *v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\tlabel\tdisc Dice\tcup Dice\tvCDR\texperts\t2-of-4 masks\tlocator px\tlocator r\tfound\t")
	var notFound []string
	for _, im := range r.Images {
		label, found := "normal", "yes"
		switch {
		case im.VCDRExperts == nil:
			label = "-"
		case im.Glaucoma:
			label = "glaucoma"
		}
		if !im.Found {
			found = "no"
			notFound = append(notFound, fmt.Sprintf("  %s: %s", im.ID, im.Reason))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", im.ID, label, im.DiscDice, opt(im.CupDice, "%.4f"),
			opt(im.VCDR, "%.3f"), opt(im.VCDRExperts, "%.3f"), opt(im.VCDRReference, "%.3f"), opt(im.LocatorErrorPx, "%.1f"), opt(im.LocatorErrorR, "%.2f"), found)
	}
	tw.Flush()
	if len(notFound) > 0 {
		fmt.Fprintf(w, "\ndisc not found:\n%s\n", strings.Join(notFound, "\n"))
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "disc Dice\t%.4f (found only: %s)\n", r.DiscDice, opt(r.DiscDiceFound, "%.4f"))
	if r.CupDice != nil { // the layout has cup and CDR references
		fmt.Fprintf(tw, "cup Dice\t%s (found only: %s)\n", opt(r.CupDice, "%.4f"), opt(r.CupDiceFound, "%.4f"))
		fmt.Fprintf(tw, "vCDR MAE\t%s (bias %s); the 2-of-4 masks: %s\n", opt(r.VCDRMAE, "%.4f"), opt(r.VCDRBias, "%+.4f"), opt(r.ReferenceVCDRMAE, "%.4f"))
		fmt.Fprintf(tw, "glaucoma AUC\t%s (predicted vCDR); 2-of-4 masks %s, experts' mean CDR %s\n",
			opt(r.GlaucomaAUC, "%.4f"), opt(r.ReferenceGlaucomaAUC, "%.4f"), opt(r.ExpertsGlaucomaAUC, "%.4f"))
	}
	if r.LocatorMedianPx != nil {
		fmt.Fprintf(tw, "locator error\tmedian %s px, mean %s px, %s within one disc radius\n",
			opt(r.LocatorMedianPx, "%.1f"), opt(r.LocatorMeanPx, "%.1f"), opt(pct(r.LocatorWithinR), "%.0f%%"))
	}
	fmt.Fprintf(tw, "disc not found\t%d of %d\n", r.NotFound, r.N)
	tw.Flush()
	fmt.Fprintf(w, "\nmedian %.2f s per image (pipeline), %.1f s in all\n", r.MedianImageS, r.Seconds)
}

func pct(v *float64) *float64 {
	if v == nil {
		return nil
	}
	p := 100 * *v
	return &p
}
