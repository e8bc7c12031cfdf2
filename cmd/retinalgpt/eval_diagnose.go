package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/diagnose"
	"github.com/retinalgpt/retinalgpt/internal/eval"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/models"
)

type evalDiagnoseFlags struct {
	rt        runtimeFlags
	root      string
	dataset   string
	only      string
	augmented bool
	model     string
	modelMeta string
	workers   int
	input     string
	lesions   bool
	jsonOut   bool
}

func newEvalDiagnoseCmd() *cobra.Command {
	var f evalDiagnoseFlags
	cmd := &cobra.Command{
		Use:   "diagnose --root DIR [--dataset labels|eye4]",
		Short: "Diagnoses: DR grade accuracy and kappa, referable-DR, DME, glaucoma, cataract and abnormal AUC",
		Long: `Evaluate the diagnose stage's calibrated probabilities (the image classifier,
models/diagnose.md) against a labelled folder, and print per task the
accuracy, quadratic-weighted kappa, per-class sensitivity/specificity and
confusion matrix (DR grade 0-4, DME risk 0-2), and for the binary tasks
(referable DR = grade 2 or more, any DME risk, glaucoma, cataract, abnormal)
the AUC, sensitivity/specificity at the model's threshold and the expected
calibration error (ECE, 10 bins).

--dataset labels (the default; "idrid" is the same): DIR/labels.csv with a
column image (a file in DIR/images/, or a path relative to DIR) and any of
dr_grade (0-4), dme_risk (0-2), glaucoma (0/1), cataract (0/1) and label (a
class name: "normal" is normal, any other name abnormal; without a glaucoma
or cataract column the names "glaucoma" and "cataract" set them). Empty
cells are unknown and left out of that task. The layout of
../shared/datasets/idrid/grading.

--dataset eye4: the layout of ../shared/datasets/eye_diseases_4class
(columns image, folder_label, source_by_filename,
eyepacs_trainLabels_level_if_eyepacs_name): the folder is the class, except
that the EyePACS photos take their DR grade from the EyePACS column (not
the mostly wrong diabetic_retinopathy folder), count as neither glaucoma nor
cataract and as abnormal when graded above 0; the unknown_augmented copies
are left out unless --include-augmented.

The figures are those analyze reports in diagnoses: the classifier, then
the same judgement (diagnose.Judge) over the quality and disc sections the
analysis measures, so the cataract and glaucoma combinations count; with
--lesions the whole analysis runs, lesion stage included. The classifier sees the
1024 analysis frame box-averaged to its input; --input crop gives it the
crop it was trained on instead (the difference is the resampling filter). The shipped classifier
was trained on the shared IDRiD grading, Drishti-GS and eye_diseases_4class
copies: figures on them are training-set figures. models/diagnose.md gives
the cross-validated ones; --model and --model-meta evaluate another export
(e.g. a cross-validation fold's model on its held-out --only list).`,
		Example: `  retinalgpt eval diagnose --root ../shared/datasets/idrid/grading
  retinalgpt eval diagnose --dataset eye4 --root ../shared/datasets/eye_diseases_4class --json`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runEvalDiagnose(cmd, f) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "dataset folder (required)")
	fl.StringVar(&f.dataset, "dataset", "labels", "labels.csv layout: labels (or idrid) or eye4")
	fl.StringVar(&f.only, "only", "", "file listing the labels.csv image values to keep, one a line")
	fl.BoolVar(&f.augmented, "include-augmented", false, "eye4: keep the unknown_augmented copies")
	fl.StringVar(&f.model, "model", "", "evaluate this ONNX classifier instead of the embedded one (needs --model-meta)")
	fl.StringVar(&f.modelMeta, "model-meta", "", "its sidecar JSON (the layout of models/diagnose.json)")
	fl.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "photos judged at once")
	fl.StringVar(&f.input, "input", "frame", "classifier input: frame (as analyze: the 1024 analysis frame box-averaged) or crop (as training: the field of view resampled to the model's crop size)")
	fl.BoolVar(&f.lesions, "lesions", false, "run the whole analysis with the lesion stage and score the report's diagnoses (as analyze --lesions judges: the DR grade and DME combinations with the lesion evidence; slow, seconds per photo; the embedded model only)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object instead of the table")
	return cmd
}

func runEvalDiagnose(cmd *cobra.Command, f evalDiagnoseFlags) error {
	if f.root == "" {
		return usageError{errors.New("--root is required")}
	}
	layout := f.dataset
	switch layout {
	case "idrid", "labels", "":
		layout = eval.DiagnoseLayoutLabels
	case eval.DiagnoseLayoutEye4:
	default:
		return usageError{fmt.Errorf("--dataset %q: want labels, idrid or eye4", f.dataset)}
	}
	if f.workers < 1 {
		return usageError{fmt.Errorf("--workers %d: want at least 1", f.workers)}
	}
	if f.input != "frame" && f.input != "crop" {
		return usageError{fmt.Errorf("--input %q: want frame or crop", f.input)}
	}
	if (f.model == "") != (f.modelMeta == "") {
		return usageError{errors.New("--model and --model-meta go together")}
	}
	if f.lesions && (f.model != "" || f.input != "frame") {
		return usageError{errors.New("--lesions scores analyze's own judgement: it takes neither --model nor --input crop")}
	}
	var only map[string]bool
	if f.only != "" {
		var err error
		if only, err = eval.ReadImageList(f.only); err != nil {
			return err
		}
	}
	samples, err := eval.OpenDiagnoseSet(f.root, layout, f.augmented, only)
	if err != nil {
		return err
	}
	onnx, meta := models.DiagnoseFiles()
	if f.model != "" {
		if onnx, err = os.ReadFile(f.model); err != nil {
			return err
		}
		if meta, err = os.ReadFile(f.modelMeta); err != nil {
			return err
		}
	}
	m, err := diagnose.ParseModel(onnx, meta)
	if err != nil {
		return err
	}
	cl, closeAll, err := openSession(&f.rt, func(rt *infer.Runtime) (*diagnose.Classifier, error) { return diagnose.NewClassifier(rt, m) })
	if err != nil {
		return err
	}
	defer closeAll()
	// The judgement reads the quality and disc sections (and, with
	// --lesions, the whole analysis), measured by the analysis itself.
	an, err := f.rt.analyzer()
	if err != nil {
		return err
	}
	defer an.Close()
	rep, err := eval.EvalDiagnose(cmd.Context(), f.root, layout, m.Name+"@"+m.Version, samples, verdictFunc(cl, f.input == "crop", an, f.lesions), f.workers, progressEvery(cmd.ErrOrStderr(), 50))
	if err != nil {
		return err
	}
	if f.jsonOut {
		return newJSONEncoder(cmd.OutOrStdout()).Encode(rep)
	}
	printDiagnoseTable(cmd.OutOrStdout(), rep)
	return nil
}

// verdictFunc judges a photo as --lesions says: the whole analysis with
// the lesion stage (the report's own diagnoses), or diagnoseVerdict.
func verdictFunc(cl *diagnose.Classifier, crop bool, an *analysis.Analyzer, lesions bool) eval.DiagnoseFunc {
	if !lesions {
		return diagnoseVerdict(cl, crop, an)
	}
	return func(ctx context.Context, img *fundus.Image) (eval.DiagnoseVerdict, error) {
		res, err := an.Analyze(ctx, img, analysis.Options{Lesions: true, NoQualityGate: true})
		if err != nil {
			return eval.DiagnoseVerdict{}, err
		}
		return verdictFromReport(res.Report.Diagnoses)
	}
}

// verdictFromReport reads a report's diagnoses back into a verdict.
func verdictFromReport(d *report.Diagnoses) (eval.DiagnoseVerdict, error) {
	var v eval.DiagnoseVerdict
	if d == nil || len(d.Findings) == 0 {
		return v, errors.New("no diagnoses in the report")
	}
	for _, f := range d.Findings {
		switch f.Key {
		case "dr":
			copy(v.DR[:], f.Probabilities)
			v.DRGrade, v.ReferableThreshold = f.Grade, f.Threshold
		case "dme":
			copy(v.DME[:], f.Probabilities)
			v.DMEGrade, v.DMEThreshold = f.Grade, f.Threshold
		case "glaucoma":
			v.Glaucoma, v.GlaucomaThreshold = f.Probability, f.Threshold
		case "cataract":
			v.Cataract, v.CataractThreshold = f.Probability, f.Threshold
		case "abnormal":
			v.Abnormal, v.AbnormalThreshold = f.Probability, f.Threshold
		}
	}
	return v, nil
}

// diagnoseVerdict judges a photo as the diagnose stage does without
// --lesions: the classifier (on the analysis frame as analyze feeds it, or
// with crop on the training crop), then diagnose.Judge over the quality and
// disc sections measured as analyze measures them.
func diagnoseVerdict(cl *diagnose.Classifier, crop bool, an *analysis.Analyzer) eval.DiagnoseFunc {
	m := cl.Model()
	return func(ctx context.Context, img *fundus.Image) (eval.DiagnoseVerdict, error) {
		fov, err := fundus.DetectFOV(img.Pix)
		if err != nil {
			return eval.DiagnoseVerdict{}, err
		}
		var p diagnose.Probabilities
		if crop {
			_, p, err = cl.Classify(ctx, img, fov)
		} else {
			_, p, err = cl.ClassifyFrame(ctx, img, fundus.NormalizeFOV(img, fov, analysis.DefaultSize))
		}
		if err != nil {
			return eval.DiagnoseVerdict{}, err
		}
		in, err := an.DiagnoseInputs(ctx, img, fov)
		if err != nil {
			return eval.DiagnoseVerdict{}, err
		}
		in.Probs, in.Model = &p, &m
		return verdictFromReport(diagnose.Judge(in))
	}
}

func printDiagnoseTable(w io.Writer, r *eval.DiagnoseReport) {
	opt := func(v *float64) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *v)
	}
	fmt.Fprintf(w, "Diagnoses (%s): %d photos in %s (layout %s), %d judged\n", r.Model, r.Images, r.Root, r.Layout, r.Judged)
	grade := func(title string, g *eval.GradeScores, names []string) {
		if g == nil {
			return
		}
		fmt.Fprintf(w, "\n%s: %d photos, accuracy %.3f, quadratic kappa %s, top-label ECE %.3f\n", title, g.N, g.Accuracy, opt(g.Kappa), g.ECE)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "truth \\ predicted\t%s\tsensitivity\tspecificity\t\n", strings.Join(names, "\t"))
		for i, row := range g.Confusion {
			cells := make([]string, len(row))
			for j, v := range row {
				cells[j] = fmt.Sprint(v)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", names[i], strings.Join(cells, "\t"), opt(g.Sensitivity[i]), opt(g.Specificity[i]))
		}
		tw.Flush()
	}
	grade("DR grade (ICDR)", r.DR, []string{"0", "1", "2", "3", "4"})
	grade("DME risk (IDRiD)", r.DME, []string{"0", "1", "2"})
	var rows []struct {
		name string
		b    *eval.BinaryScores
	}
	for _, x := range []struct {
		name string
		b    *eval.BinaryScores
	}{{"referable DR (grade >= 2)", r.Referable}, {"any DME risk", r.DMEAny}, {"glaucoma", r.Glaucoma}, {"cataract", r.Cataract}, {"abnormal", r.Abnormal}} {
		if x.b != nil {
			rows = append(rows, x)
		}
	}
	if len(rows) > 0 {
		fmt.Fprintln(w, "\nBinary tasks (sensitivity and specificity at the model's threshold; confusion TN FP / FN TP):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "task\tphotos\tpositive\tAUC\tthreshold\tsensitivity\tspecificity\tECE\tTN\tFP\tFN\tTP\t")
		for _, x := range rows {
			b := x.b
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.3f\t%s\t%s\t%.3f\t%d\t%d\t%d\t%d\t\n", x.name, b.N, b.Positives, opt(b.AUC), b.Threshold,
				opt(b.Sensitivity), opt(b.Specificity), b.ECE, b.Confusion[0][0], b.Confusion[0][1], b.Confusion[1][0], b.Confusion[1][1])
		}
		tw.Flush()
	}
	const show = 10
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\n%d photos could not be judged (left out):\n", len(r.Failures))
	}
	for i, x := range r.Failures {
		if i == show {
			fmt.Fprintf(w, "  ... and %d more (--json lists all)\n", len(r.Failures)-show)
			break
		}
		fmt.Fprintf(w, "  %s: %s\n", x.Image, x.Error)
	}
	fmt.Fprintf(w, "\nmedian %.3f s per photo (decode, field of view, classifier, quality gate, disc stage; the whole analysis with --lesions), %.1f s in all\n", r.PerImageS, r.Seconds)
}
