package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/avlabel"
	"github.com/retinalgpt/retinalgpt/internal/eval"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
	"github.com/retinalgpt/retinalgpt/models"
)

func newEvalCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Measure accuracy against labelled datasets",
		Long: `Measure RetinalGPT against labelled datasets. Each subcommand takes --root,
a folder in the layout of the matching ../shared/datasets folder, so it runs
unchanged on other copies of the same dataset, prints a table, and with
--json prints one JSON object with the same figures.`,
	}
	cmd.AddCommand(newEvalVesselsCmd(), newEvalAVCmd(), newEvalLocalizeCmd(), newEvalDiscCmd(), newEvalLesionsCmd())
	cmd.AddCommand(newEvalQualityCmd(), newEvalDiagnoseCmd())
	return cmd
}

type evalLocalizeFlags struct {
	rt          runtimeFlags
	dataset     string
	root        string
	reportWidth int
	radius      float64
	jsonOut     bool
}

func newEvalLocalizeCmd() *cobra.Command {
	var f evalLocalizeFlags
	cmd := &cobra.Command{
		Use:   "localize --dataset idrid --root DIR",
		Short: "Optic disc and fovea localization: centre errors in pixels",
		Long: `Evaluate optic disc and fovea centre localization against DIR/labels.csv
(columns image, od_x, od_y, fovea_x, fovea_y in the photo's pixels) with the
photos in DIR/images/ — the layout of ../shared/datasets/idrid/grading.

Errors are reported in pixels of a photo --report-width wide (IDRiD's
originals are 4288 wide; the shared copies 2144), with the share within
--radius (default 262 px: the median optic disc radius of the IDRiD
segmentation masks at 4288 width).

The shared copy is the IDRiD TRAINING split, on which the shipped disc model
was trained: figures on it are not test figures. models/disc.md gives the
5-fold cross-validated ones.`,
		Example: `  retinalgpt eval localize --dataset idrid --root /data/idrid/test --json`,
		Args:    checkArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, args []string) error { return runEvalLocalize(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.dataset, "dataset", "idrid", "dataset layout (idrid)")
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.IntVar(&f.reportWidth, "report-width", 4288, "report errors at this photo width in pixels; 0: the images' own pixels")
	fl.Float64Var(&f.radius, "radius", 262, "tolerance for the 'within' share, in pixels at --report-width")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

func runEvalLocalize(cmd *cobra.Command, f evalLocalizeFlags) error {
	if f.root == "" {
		return usageError{errors.New("--root is required")}
	}
	if f.dataset != "idrid" {
		return usageError{fmt.Errorf("--dataset %q: only idrid's layout is known", f.dataset)}
	}
	samples, err := eval.OpenLandmarkSet(f.root)
	if err != nil {
		return err
	}
	an, err := f.rt.analyzer()
	if err != nil {
		return err
	}
	defer an.Close()
	stderr := cmd.ErrOrStderr()
	rep, err := eval.EvalLocalize(cmd.Context(), f.root, samples, an.Locate, f.reportWidth, f.radius, func(done, total int) { progressLine(stderr)(done, total, "") })
	if err != nil {
		return err
	}
	if f.jsonOut {
		enc := newJSONEncoder(cmd.OutOrStdout())
		return enc.Encode(rep)
	}
	w := cmd.OutOrStdout()
	unit := fmt.Sprintf("px at %d width", rep.ReportWidth)
	if rep.ReportWidth == 0 {
		unit = "px of the images"
	}
	fmt.Fprintf(w, "Disc and fovea localization: %d images in %s (errors in %s)\n\n", rep.Images, rep.Root, unit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "landmark\tmedian\tmean\twithin %.0f px\t\n", rep.RadiusPx)
	fmt.Fprintf(tw, "optic disc\t%.1f\t%.1f\t%.1f%%\t\n", rep.ODMedian, rep.ODMean, 100*rep.ODWithin)
	fmt.Fprintf(tw, "fovea\t%.1f\t%.1f\t%.1f%%\t\n", rep.FoveaMedian, rep.FoveaMean, 100*rep.FoveaWithin)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "\nlabelled discs called absent (\"optic disc not found\"): %d\n", rep.ODAbsent)
	return err
}

type evalVesselFlags struct {
	rt      runtimeFlags
	dataset string
	root    string
	split   string
	size    int
	jsonOut bool
}

func newEvalVesselsCmd() *cobra.Command {
	var f evalVesselFlags
	cmd := &cobra.Command{
		Use:   "vessels --dataset drive|chase --root DIR",
		Short: "Vessel segmentation: AUC, F1, accuracy, sensitivity, specificity inside the FOV",
		Long: `Evaluate vessel segmentation inside the field of view, per image and overall
(all FOV pixels pooled), at the model's fixed threshold.

Layouts: drive: DIR/test/{images,1st_manual,mask} (or DIR itself holding
those folders); chase: DIR/{images,manual}, test split = children 11-14
(the vessel model trained on children 01-10). A missing mask/ folder means
the FOV is detected from the photo.

--size 0 (default) runs the model on the photo's own pixels; --size N runs
the whole analyze pipeline (FOV crop, resize to NxN, back to original).`,
		Example: `  retinalgpt eval vessels --dataset drive --root ../shared/datasets/drive
  retinalgpt eval vessels --dataset chase --root ../shared/datasets/chase_db1 --json`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalVessels(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.dataset, "dataset", "", "dataset layout: drive or chase (required)")
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.StringVar(&f.split, "split", "test", "split: test, training, or all (chase)")
	fl.IntVar(&f.size, "size", 0, "0: model on original pixels; N: full pipeline at analysis size N")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

func runEvalVessels(cmd *cobra.Command, f evalVesselFlags) error {
	if f.dataset == "" || f.root == "" {
		return usageError{errors.New("--dataset and --root are required")}
	}
	if f.size != 0 && (f.size < 64 || f.size > 4096) {
		return usageError{fmt.Errorf("--size %d: want 0 or 64..4096", f.size)}
	}
	set, err := eval.OpenVesselSet(f.dataset, f.root, f.split)
	if err != nil {
		return err
	}
	an, err := f.rt.analyzer()
	if err != nil {
		return err
	}
	defer an.Close()
	seg := func(ctx context.Context, img *fundus.Image) ([]float32, float64, error) {
		if f.size == 0 {
			m, err := an.Segmenter().Segment(ctx, img.Pix)
			if err != nil {
				return nil, 0, err
			}
			return m.Prob, m.Threshold, nil
		}
		return an.VesselProbability(ctx, img, f.size)
	}
	stderr := cmd.ErrOrStderr()
	rep, err := eval.EvalVessels(cmd.Context(), set, seg, progressLine(stderr))
	if err != nil {
		return err
	}
	if f.jsonOut {
		enc := newJSONEncoder(cmd.OutOrStdout())
		return enc.Encode(struct {
			*eval.VesselReport
			Size  int    `json:"analysis_size"`
			Model string `json:"model"`
		}{rep, f.size, an.Segmenter().Model().Meta.Version})
	}
	printVesselTable(cmd.OutOrStdout(), rep, f.size)
	return nil
}

func printVesselTable(w io.Writer, r *eval.VesselReport, size int) {
	mode := "model on original pixels"
	if size > 0 {
		mode = fmt.Sprintf("full pipeline at analysis size %d", size)
	}
	fmt.Fprintf(w, "Vessel segmentation: %s %s split, %d images, %s\n", r.Dataset, r.Split, len(r.Images), r.Dir)
	fmt.Fprintf(w, "Inside the field of view, threshold %.2f (fixed), %s\n\n", r.Threshold, mode)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\tAUC\tF1\taccuracy\tsensitivity\tspecificity\tFOV px\t")
	row := func(name string, s eval.Scores, extra string) {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t\n", name, s.AUC, s.F1, s.Accuracy, s.Sensitivity, s.Specificity, extra)
	}
	for _, im := range r.Images {
		px := fmt.Sprint(im.FOVPx)
		if !im.MaskGiven {
			px += "*"
		}
		row(im.ID, im.Scores, px)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
	row("overall (pooled)", r.Overall, "")
	row("mean per image", r.MeanPerImage, "")
	tw.Flush()
	fmt.Fprintf(w, "\nmedian %.2f s per image, %.1f s in all", r.MedianImageS, r.Seconds)
	fovFootnote(w, slices.ContainsFunc(r.Images, func(im eval.VesselImage) bool { return !im.MaskGiven }))
}

type evalAVFlags struct {
	rt      runtimeFlags
	root    string
	split   string
	jsonOut bool
}

func newEvalAVCmd() *cobra.Command {
	var f evalAVFlags
	cmd := &cobra.Command{
		Use:   "av --root DIR",
		Short: "Artery/vein classification: accuracy, artery and vein sensitivity",
		Long: `Evaluate the artery/vein model against colour A/V labels in the layout of
../shared/datasets/rite: DIR/test/{images,av,mask} (--split picks the folder;
DIR may also be a split folder itself). Labels use the RITE colour code:
black background, red artery, blue vein, green crossing, white uncertain;
any other colour counts as uncertain. A missing mask/ folder means the FOV
is detected from the photo.

The protocol is the usual one of the A/V literature: every ground-truth
vessel pixel inside the FOV labelled artery or vein (crossings and
uncertain vessels excluded) is predicted artery if p_artery > p_vein,
whether or not the model detected the vessel, so the figures measure
classification, not detection. Accuracy is over artery and vein pixels;
artery sensitivity is the share of artery pixels called artery, vein
sensitivity the share of vein pixels called vein (the artery
specificity). The centreline figures count only the skeleton of the
ground-truth vessel mask; the consistent ones count the labels after each
centreline segment of the ground-truth vessel mask has taken its pixels'
confidence-weighted majority label. The model runs on the photo's own
pixels.

The shared copy's training split (21-40) is what the A/V model trains on;
test (01-20) is held out.`,
		Example: `  retinalgpt eval av --root ../shared/datasets/rite
  retinalgpt eval av --root ../shared/datasets/rite --split training --json`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalAV(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.StringVar(&f.split, "split", "test", "split: test or training")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

func runEvalAV(cmd *cobra.Command, f evalAVFlags) error {
	if f.root == "" {
		return usageError{errors.New("--root is required")}
	}
	set, err := eval.OpenAVSet(f.root, f.split)
	if err != nil {
		return err
	}
	m, err := models.AV()
	if err != nil {
		return err
	}
	seg, closeAll, err := openSession(&f.rt, func(rt *infer.Runtime) (*vessels.AVSegmenter, error) { return vessels.NewAV(rt, m) })
	if err != nil {
		return err
	}
	defer closeAll()
	predict := func(ctx context.Context, img *fundus.Image) ([]float32, []float32, error) {
		av, err := seg.Segment(ctx, img.Pix)
		if err != nil {
			return nil, nil, err
		}
		return av.Artery, av.Vein, nil
	}
	consistent := func(vessel *image.Gray, artery, vein []float32) ([]bool, error) {
		b := vessel.Bounds()
		px, err := (&vessels.AVMap{Width: b.Dx(), Height: b.Dy(), Artery: artery, Vein: vein}).Classify(vessel)
		if err != nil {
			return nil, err
		}
		r, err := avlabel.Consistent(px)
		if err != nil {
			return nil, err
		}
		isArtery := make([]bool, len(r.Labels.Class))
		for i, c := range r.Labels.Class {
			isArtery[i] = c == vessels.Artery
		}
		return isArtery, nil
	}
	stderr := cmd.ErrOrStderr()
	rep, err := eval.EvalAV(cmd.Context(), set, predict, consistent, progressLine(stderr))
	if err != nil {
		return err
	}
	if f.jsonOut {
		enc := newJSONEncoder(cmd.OutOrStdout())
		return enc.Encode(struct {
			*eval.AVReport
			Model        string `json:"model"`
			Orientations int    `json:"orientations"`
		}{rep, m.Meta.Version, max(m.Meta.TestTimeOrientations, 1)})
	}
	printAVTable(cmd.OutOrStdout(), rep, fmt.Sprintf("%s, outputs averaged over %d orientations", m.Meta.Version, max(m.Meta.TestTimeOrientations, 1)))
	return nil
}

func printAVTable(w io.Writer, r *eval.AVReport, model string) {
	fmt.Fprintf(w, "Artery/vein classification: %s %s split, %d images, %s (model %s)\n", r.Dataset, r.Split, len(r.Images), r.Dir, model)
	fmt.Fprintf(w, "On the ground-truth artery and vein pixels inside the FOV (crossings and uncertain\n")
	fmt.Fprintf(w, "excluded), artery if p_artery > p_vein. CL: centreline (skeleton) pixels only;\n")
	fmt.Fprintf(w, "consistent: after each centreline segment's majority vote\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\taccuracy\tartery sens\tvein sens\tCL accuracy\tCL artery sens\tCL vein sens\tconsistent acc\tconsistent CL acc\tA/V px\t")
	row := func(name string, s eval.AVScores, extra string) {
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\t\n", name,
			s.Accuracy, s.ArterySensitivity, s.VeinSensitivity,
			s.CentrelineAccuracy, s.CentrelineArterySensitivity, s.CentrelineVeinSensitivity,
			s.ConsistentAccuracy, s.ConsistentCentrelineAccuracy, extra)
	}
	for _, im := range r.Images {
		px := fmt.Sprint(im.ArteryPx + im.VeinPx)
		if !im.MaskGiven {
			px += "*"
		}
		row(im.ID, im.AVScores, px)
	}
	fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
	row("overall (pooled)", r.Overall, "")
	row("mean per image", r.MeanPerImage, "")
	tw.Flush()
	fmt.Fprintf(w, "\nmedian %.2f s per image (model), %.1f s in all", r.MedianImageS, r.Seconds)
	fovFootnote(w, slices.ContainsFunc(r.Images, func(im eval.AVImage) bool { return !im.MaskGiven }))
}

// progressLine reports an evaluation's progress on one rewritten line of w
// (stderr), ending the line when the last item is done.
func progressLine(w io.Writer) func(done, total int, id string) {
	return func(done, total int, id string) {
		fmt.Fprintf(w, "\r[%d/%d] %s   ", done, total, id)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

// progressEvery is the progress of the parallel evaluations (no image
// name: they finish out of order), written every n images and at the end.
func progressEvery(w io.Writer, n int) func(done, total int) {
	return func(done, total int) {
		if done%n == 0 || done == total {
			fmt.Fprintf(w, "\r[%d/%d]", done, total)
			if done == total {
				fmt.Fprintln(w)
			}
		}
	}
}

// fovFootnote ends a table's timing line, explaining the * that marks
// images whose field of view was detected because the folder had no mask.
func fovFootnote(w io.Writer, detected bool) {
	if detected {
		fmt.Fprint(w, "; * FOV detected (no mask file)")
	}
	fmt.Fprintln(w)
}
