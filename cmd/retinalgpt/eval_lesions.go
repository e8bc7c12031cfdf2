package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/eval"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/models"
)

type evalLesionFlags struct {
	rt        runtimeFlags
	root      string
	boxes     string
	boxImages string
	limit     int
	maxBoxes  int
	iou       float64
	jsonOut   bool
}

func newEvalLesionsCmd() *cobra.Command {
	var f evalLesionFlags
	cmd := &cobra.Command{
		Use:   "lesions --root DIR [--boxes FILE [--box-images DIR]]",
		Short: "Lesions (MA, HE, EX, SE): pixel AUPR, object sensitivity, false objects, box recall",
		Long: `Evaluate the lesion model (microaneurysms MA, haemorrhages HE, hard exudates
EX, soft exudates SE) through the lesion stage (internal/lesions): field of
view, the photo brought to the model's working scale, tiled inference,
lesions at the model's fixed thresholds inside the FOV.

--root DIR, in the layout of ../shared/datasets/idrid/segmentation: photos in
DIR/images/, binary masks in DIR/MA, DIR/HE, DIR/EX, DIR/SE named ID_TYPE.*
(a missing mask means no lesion of that type; a folder of photos alone, such
as a healthy set, scores false lesions only). Per type: pixel-level AUPR
(average precision, the IDRiD challenge metric) over the FOV pixels of all
photos pooled, object-level sensitivity (share of ground-truth 8-connected
components touched by a predicted pixel) and false-positive objects per
photo (predicted components touching no ground-truth pixel), and pixel Dice.
Resolution: the model's working grid (the FOV about 1706 px wide, so IDRiD
originals are halved), the masks max-pooled onto it, exactly as
train/lesions/train.py scores its cross-validation.

TRAINING-SET WARNING: the shipped model was trained on all 19 IDRiD
segmentation images in ../shared; on them the figures are training-set
figures. Its cross-validated figures (4 folds, each image scored once while
held out) are the "cv" object of models/lesions.json, printed beside them.

--boxes FILE, in the layout of ../shared/datasets/idrid/grading/boxes.csv
(image, label, x_min, y_min, x_max, y_max in the photo's pixels; labels
haemorrhage and hard_exudates are scored, others ignored), with the photos in
--box-images (default: FILE's folder/images): per type present, the recall
of the reference boxes at IoU >= --iou by the boxes RetinalGPT reports (at
most --max-boxes per type), the mean best IoU, and the share of predicted
boxes that match a reference (a lower bound: not every lesion is boxed).
The grading photos are not among the segmentation model's training images.

--limit N scores the first N photos (by name) of each set.`,
		Example: `  retinalgpt eval lesions --root ../shared/datasets/idrid/segmentation
  retinalgpt eval lesions --boxes ../shared/datasets/idrid/grading/boxes.csv --limit 60 --json
  retinalgpt eval lesions --root ../shared/datasets/chase_db1   # healthy photos: false lesions per photo`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalLesions(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "segmentation dataset folder (images/, MA/, HE/, EX/, SE/)")
	fl.StringVar(&f.boxes, "boxes", "", "reference boxes CSV (the layout of idrid/grading/boxes.csv)")
	fl.StringVar(&f.boxImages, "box-images", "", "photos the boxes refer to (default: the CSV's folder/images)")
	fl.IntVar(&f.limit, "limit", 0, "score at most N photos of each set (0: all)")
	fl.IntVar(&f.maxBoxes, "max-boxes", lesions.DefaultMaxBoxes, "boxes reported per type, as analyze reports them")
	fl.Float64Var(&f.iou, "iou", 0.3, "IoU at or above which a predicted box matches a reference box")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the tables")
	return cmd
}

// lesionEvalReport is the --json object.
type lesionEvalReport struct {
	Model        string             `json:"model"`
	Segmentation *eval.LesionReport `json:"segmentation,omitempty"`
	// TrainingImages counts the scored photos that the shipped model was
	// trained on (IDRiD segmentation set names).
	TrainingImages int             `json:"training_images"`
	Boxes          *eval.BoxReport `json:"boxes,omitempty"`
	CV             *lesions.CV     `json:"cv,omitempty"`
}

func runEvalLesions(cmd *cobra.Command, f evalLesionFlags) error {
	if f.root == "" && f.boxes == "" {
		return usageError{errors.New("--root or --boxes is required")}
	}
	if f.limit < 0 || f.maxBoxes < 1 || !(f.iou > 0 && f.iou <= 1) {
		return usageError{fmt.Errorf("--limit %d, --max-boxes %d, --iou %v: want limit >= 0, max-boxes >= 1, 0 < iou <= 1", f.limit, f.maxBoxes, f.iou)}
	}
	var samples []eval.LesionSample
	var boxSamples []eval.BoxSample
	var err error
	if f.root != "" {
		if samples, err = eval.OpenLesionSet(f.root); err != nil {
			return err
		}
		if f.limit > 0 && len(samples) > f.limit {
			samples = samples[:f.limit]
		}
	}
	if f.boxes != "" {
		if f.boxImages == "" {
			f.boxImages = filepath.Join(filepath.Dir(f.boxes), "images")
		}
		if boxSamples, err = eval.OpenBoxSet(f.boxes, f.boxImages); err != nil {
			return err
		}
		if f.limit > 0 && len(boxSamples) > f.limit {
			boxSamples = boxSamples[:f.limit]
		}
	}
	m, err := lesions.ParseModel(models.LesionsFiles())
	if err != nil {
		return err
	}
	det, closeAll, err := openSession(&f.rt, func(rt *infer.Runtime) (*lesions.Detector, error) { return lesions.New(rt, m) })
	if err != nil {
		return err
	}
	defer closeAll()

	stderr := cmd.ErrOrStderr()
	progress := progressLine(stderr)
	rep := lesionEvalReport{Model: m.String(), CV: m.CV}
	if samples != nil {
		maps := func(ctx context.Context, img *fundus.Image) (*eval.LesionMaps, error) {
			fov, err := fundus.DetectFOV(img.Pix)
			if err != nil {
				return nil, err
			}
			lm, err := det.Maps(ctx, img.Pix, fov)
			if err != nil {
				return nil, err
			}
			out := &eval.LesionMaps{Width: lm.Grid.Width, Height: lm.Grid.Height, InFOV: lm.InFOV,
				Scale: lm.Grid.Transform.Scale, OffsetX: lm.Grid.Transform.OffsetX, OffsetY: lm.Grid.Transform.OffsetY}
			for _, k := range lesions.Kinds {
				out.Prob[k], out.Thresholds[k] = lm.Prob[k], lm.Thresholds[k]
			}
			return out, nil
		}
		if rep.Segmentation, err = eval.EvalLesions(cmd.Context(), f.root, samples, maps, progress); err != nil {
			return err
		}
		for _, s := range samples {
			if inLesionTraining(s.ID) {
				rep.TrainingImages++
			}
		}
	}
	if boxSamples != nil {
		boxes := func(ctx context.Context, img *fundus.Image) ([4][][4]float64, error) {
			var out [4][][4]float64
			fov, err := fundus.DetectFOV(img.Pix)
			if err != nil {
				return out, err
			}
			r, err := det.Detect(ctx, img.Pix, fov, lesions.Options{Boxes: lesions.BoxOptions{Max: f.maxBoxes}})
			if err != nil {
				return out, err
			}
			for _, k := range lesions.Kinds {
				for _, b := range r.Boxes[k] {
					out[k] = append(out[k], b.Px)
				}
			}
			return out, nil
		}
		if rep.Boxes, err = eval.EvalBoxes(cmd.Context(), f.boxes, f.boxImages, boxSamples, boxes, f.iou, progress); err != nil {
			return err
		}
	}
	if f.jsonOut {
		return newJSONEncoder(cmd.OutOrStdout()).Encode(rep)
	}
	w := cmd.OutOrStdout()
	if rep.Segmentation != nil {
		printLesionTable(w, rep)
	}
	if rep.Boxes != nil {
		if rep.Segmentation != nil {
			fmt.Fprintln(w)
		}
		printBoxTable(w, rep.Boxes, f.maxBoxes, rep.Model)
	}
	return nil
}

// lesionTrainingName matches the IDRiD lesion segmentation set's names
// (IDRiD_01 … IDRiD_20 without 09; the grading set's have three digits).
var lesionTrainingName = regexp.MustCompile(`^IDRiD_(\d\d)$`)

// inLesionTraining says whether a photo of this name is one the shipped
// lesion model was trained on.
func inLesionTraining(id string) bool {
	m := lesionTrainingName.FindStringSubmatch(id)
	if m == nil {
		return false
	}
	n, _ := strconv.Atoi(m[1])
	return n >= 1 && n <= 20 && n != 9
}

func printLesionTable(w io.Writer, rep lesionEvalReport) {
	r := rep.Segmentation
	fmt.Fprintf(w, "Lesion segmentation: %d photos in %s (model %s)\n", r.N, r.Root, rep.Model)
	if rep.TrainingImages > 0 {
		fmt.Fprintf(w, "TRAINING-SET FIGURES: %d of these photos are among the 19 the shipped model was trained on.\n", rep.TrainingImages)
		fmt.Fprintf(w, "The cross-validated figures (held-out images) are the cv columns, from models/lesions.json.\n")
	}
	fmt.Fprintf(w, "Pixels: %s.\nObjects: 8-connected components at the model's threshold inside the FOV.\n\n", r.Resolution)
	opt := func(v *float64, format string) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf(format, *v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\tthreshold\tAUPR\tobject sens\thit/GT objects\tFP objects/photo\tpixel Dice\tcv AUPR\tcv object sens\tcv FP/photo\t")
	for t, code := range eval.LesionTypes {
		s := [4]*eval.LesionTypeScores{r.Types.MA, r.Types.HE, r.Types.EX, r.Types.SE}[t]
		cv := "-\t-\t-"
		if rep.CV != nil {
			if c, ok := rep.CV.Classes[code]; ok {
				cv = fmt.Sprintf("%s\t%s\t%.1f", opt(c.AUPR, "%.4f"), opt(c.ObjectSensitivity, "%.4f"), c.FPPerImage)
			}
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%d/%d\t%.1f\t%s\t%s\t\n", code, s.Threshold, opt(s.AUPR, "%.4f"), opt(s.ObjectSensitivity, "%.4f"),
			s.HitObjects, s.GTObjects, s.FPPerImage, opt(s.PixelDice, "%.4f"), cv)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "photo\tgrid\tMA hit/GT FP\tHE hit/GT FP\tEX hit/GT FP\tSE hit/GT FP\t")
	for _, im := range r.Images {
		cell := func(c eval.LesionImageCounts) string { return fmt.Sprintf("%d/%d %d", c.Hit, c.GT, c.FP) }
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", im.ID, im.Grid, cell(im.Counts.MA), cell(im.Counts.HE), cell(im.Counts.EX), cell(im.Counts.SE))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmedian %.2f s per photo (model), %.1f s in all\n", r.MedianImageS, r.Seconds)
}

func printBoxTable(w io.Writer, r *eval.BoxReport, maxBoxes int, model string) {
	fmt.Fprintf(w, "Lesion boxes: %d photos with reference boxes in %s, photos in %s (model %s)\n", r.N, r.File, r.ImagesDir, model)
	fmt.Fprintf(w, "Match: IoU >= %.2g with a box of the same type; at most %d predicted boxes per type and photo.\n", r.IoU, maxBoxes)
	fmt.Fprintf(w, "The references are weak labels (not every lesion is boxed): precision is a lower bound.\n\n")
	opt := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.4f", *v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "type\treference boxes\tmatched\trecall\tmean best IoU\tpredicted boxes\tprecision (lower bound)\t")
	for t, code := range eval.LesionTypes {
		s := [4]*eval.BoxTypeScores{r.Types.MA, r.Types.HE, r.Types.EX, r.Types.SE}[t]
		if s == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%d\t%s\t\n", code, s.RefBoxes, s.Matched, opt(s.Recall), opt(s.MeanBestIoU), s.PredBoxes, opt(s.Precision))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmedian %.2f s per photo (model and boxes), %.1f s in all\n", r.MedianImageS, r.Seconds)
}
