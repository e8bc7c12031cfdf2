package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

type analyzeFlags struct {
	rt         runtimeFlags
	out        string
	jsonOut    bool
	noFiles    bool
	size       int
	umPerPx    float64
	fovDegrees float64
	maxMP      float64
	lesions    bool
	noGate     bool
}

// lesionsFlagHelp is --lesions' help, the same for analyze, ask and chat.
const lesionsFlagHelp = "also detect lesions (microaneurysms, haemorrhages, exudates): EXPERIMENTAL and slow (seconds per photo); its model is weak (misses microaneurysms, many false exudates), see models/lesions.md"

func newAnalyzeCmd() *cobra.Command {
	var f analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze [IMAGE ...]",
		Short: "Analyze fundus photographs; without IMAGE, the bundled sample",
		Long: `Analyze one or more colour fundus photographs (JPEG, PNG, TIFF, GIF, BMP,
PPM/PGM). For each photo it prints a summary and writes, into --out,
NAME_report.json (the versioned Report, see docs/report.md) and
NAME_overlay.png (arteries red and veins blue, field of view, disc and
fovea, the optic disc and cup outlines and zones B and C drawn on the
photo); NAME is the file name without its extension, prefixed with its
folder(s) when photos of one batch share a name (cataract_1001,
glaucoma_1001). The summary gives the vessel biomarkers of all vessels, of the
arteries and of the veins, and CRAE, CRVE and AVR in zone B around the
optic disc (Knudtson and Hubbard formulas, six widest vessels and the
median over five circles). With --lesions it also runs the experimental
lesion stage (slow, weak model: see models/lesions.md): lesion counts,
quadrants and RetinalGPT boxes per type in the report, lesions drawn on the
overlay, one summary line per type with the model's caveat. Last, the
diagnose stage (docs/diagnose.md) judges diabetic retinopathy, macular
edema risk, glaucoma, cataract and normal/abnormal, each with a calibrated
probability, its threshold and its evidence (a screening aid, not a
diagnosis; its accuracy is in models/diagnose.md).

Before any model runs, the quality and modality gate (docs/quality.md)
checks each photo. One that is not a colour fundus photograph (a blank,
noise or greyscale image, a document, a face, no circular field of view)
is refused with the reasons, and nothing is written for it; --no-quality-gate
analyses it anyway (for research on odd images), except without a field of
view. Every analysed photo gets a quality grade (good, usable or reject)
with its reasons in the report and one summary line; a photo graded reject
(blurred, dark, hazy as with cataract, largely shadowed) is still analysed,
with a warning that its measurements may be unreliable.

Without IMAGE it analyzes the bundled sample photograph (IDRiD_055, CC BY 4.0).
A photo that cannot be read or is refused is reported and skipped; the exit
status is then non-zero (3: unreadable image, 4: not a colour fundus photo,
5: ONNX Runtime missing).`,
		Example: `  retinalgpt analyze
  retinalgpt analyze photo.jpg --out results/ --um-per-px 6.5
  retinalgpt analyze --lesions --out results/
  retinalgpt analyze odd_image.png --no-quality-gate --no-files
  retinalgpt analyze *.tif --fov-degrees 45 --json > reports.jsonl`,
		Args: checkArgs(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return runAnalyze(cmd, f, args) },
	}
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", ".", "folder for the report and overlay files")
	fl.BoolVar(&f.jsonOut, "json", false, "print each Report as one line of JSON instead of the summary")
	fl.BoolVar(&f.noFiles, "no-files", false, "write no files, only print")
	fl.IntVar(&f.size, "size", analysis.DefaultSize, "side of the square analysis image in pixels")
	fl.Float64Var(&f.umPerPx, "um-per-px", 0, "micrometres per original pixel, if known (overrides --fov-degrees)")
	fl.Float64Var(&f.fovDegrees, "fov-degrees", 0, "camera field of view in degrees (e.g. 45), used for micrometres")
	fl.Float64Var(&f.maxMP, "max-megapixels", 100, "refuse images larger than this (decompression-bomb guard)")
	fl.BoolVar(&f.lesions, "lesions", false, lesionsFlagHelp)
	fl.BoolVar(&f.noGate, "no-quality-gate", false, noGateFlagHelp)
	return cmd
}

func runAnalyze(cmd *cobra.Command, f analyzeFlags, args []string) error {
	if f.size < 64 || f.size > 4096 {
		return usageError{fmt.Errorf("--size %d: want 64..4096", f.size)}
	}
	if f.umPerPx < 0 || f.fovDegrees < 0 || f.fovDegrees > 200 {
		return usageError{errors.New("--um-per-px and --fov-degrees must be positive (field of view at most 200 degrees)")}
	}
	var stems map[string]string
	if !f.noFiles {
		if err := checkOutDir(f.out); err != nil {
			return err
		}
		var err error
		if stems, err = outputStems(args); err != nil {
			return err
		}
	}
	lim := fundus.Limits{MaxPixels: int64(f.maxMP * 1e6)}
	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()

	var an *analysis.Analyzer
	defer func() {
		if an != nil {
			an.Close()
		}
	}()
	inputs := args
	if len(inputs) == 0 {
		inputs = []string{""} // the bundled sample
	}
	var firstErr error
	failed := 0
	for i, path := range inputs {
		if len(inputs) > 1 {
			fmt.Fprintf(stderr, "[%d/%d] %s\n", i+1, len(inputs), path)
		}
		err := func() error {
			img, err := loadInput(path, lim)
			if err != nil {
				return err
			}
			if an == nil {
				if an, err = f.rt.analyzer(); err != nil {
					return err
				}
			}
			res, err := an.Analyze(cmd.Context(), img, analysis.Options{Size: f.size, UmPerPx: f.umPerPx, FOVDegrees: f.fovDegrees, Lesions: f.lesions, NoQualityGate: f.noGate})
			if err != nil {
				return gateHint(err)
			}
			var written []string
			if !f.noFiles {
				if written, err = writeOutputs(f.out, stems[path], res); err != nil {
					return err
				}
			}
			if f.jsonOut {
				// One report per line (JSON Lines), so several photos stream.
				return json.NewEncoder(stdout).Encode(res.Report)
			}
			printSummary(stdout, res.Report, written)
			if path == "" {
				fmt.Fprintln(stdout, sample.Attribution)
			}
			return nil
		}()
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
			if len(inputs) > 1 {
				fmt.Fprintln(stderr, "retinalgpt:", err)
			}
			if exitCode(err) == exitNoRuntime || cmd.Context().Err() != nil {
				return err // no later photo can succeed
			}
		}
	}
	if failed > 1 || (failed == 1 && len(inputs) > 1) {
		return fmt.Errorf("%d of %d images failed; first: %w", failed, len(inputs), firstErr)
	}
	return firstErr
}

func loadInput(path string, lim fundus.Limits) (*fundus.Image, error) {
	if path == "" {
		return fundus.Decode(bytes.NewReader(sample.Photo()), sample.Name, lim)
	}
	return fundus.Load(path, lim)
}

func checkOutDir(dir string) error {
	if err := ensureDir(dir); err != nil {
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return nil
}

// outputStems names each input's output files (STEM_report.json,
// STEM_overlay.png): the file name without its extension, or, where two
// inputs share it (eye_diseases_4class has the same names in different
// folders), the name prefixed with as many of its parent folders as tell
// them apart ("glaucoma_1001", "cataract_1001"), and, for the same name
// with two extensions, the extension too. The same file given twice is a
// usage error. The bundled sample ("") keeps its own name.
func outputStems(paths []string) (map[string]string, error) {
	names := make(map[string][]string, len(paths))
	longest := 0
	for _, p := range paths {
		c := filepath.Clean(p)
		if _, ok := names[c]; ok && p != "" {
			return nil, usageError{fmt.Errorf("%s is given more than once", p)}
		}
		names[c] = stemCandidates(p)
		longest = max(longest, len(names[c]))
	}
	out := make(map[string]string, len(paths))
	for depth := range longest {
		byStem := map[string][]string{}
		for _, p := range paths {
			if _, done := out[p]; !done {
				cs := names[filepath.Clean(p)]
				s := cs[min(depth, len(cs)-1)]
				byStem[s] = append(byStem[s], p)
			}
		}
		for s, ps := range byStem {
			if len(ps) == 1 {
				out[ps[0]] = s
			}
		}
	}
	if len(out) < len(paths) {
		var left []string
		for _, p := range paths {
			if _, ok := out[p]; !ok {
				left = append(left, p)
			}
		}
		return nil, usageError{fmt.Errorf("cannot give %s distinct output names; analyze them into different --out folders", strings.Join(left, ", "))}
	}
	return out, nil
}

// stemCandidates are path's possible output stems, shortest first: its
// file name without extension, then prefixed with one, two, … parent
// folders (of the absolute path), then with the extension appended.
func stemCandidates(path string) []string {
	if path == "" {
		return []string{stem(sample.Name)}
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	parts := []string{stem(path)}
	out := []string{parts[0]}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		base := filepath.Base(dir)
		if base == "" || base == "." || base == string(filepath.Separator) {
			break
		}
		parts = append([]string{base}, parts...)
		out = append(out, strings.Join(parts, "_"))
	}
	if ext := strings.TrimPrefix(filepath.Ext(path), "."); ext != "" {
		out = append(out, out[len(out)-1]+"_"+ext)
	}
	return out
}

func stem(path string) string {
	base := filepath.Base(path)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// writeOutputs writes STEM_report.json and STEM_overlay.png into dir,
// each atomically; stem "" takes the image's own name.
func writeOutputs(dir, s string, res *analysis.Result) ([]string, error) {
	if s == "" {
		s = stem(res.Image.Name)
	}
	jsonPath := filepath.Join(dir, s+"_report.json")
	pngPath := filepath.Join(dir, s+"_overlay.png")
	scene := res.OverlayScene()
	img := overlay.Draw(res.Image.Pix, scene, overlay.AllLayers)
	if err := writeFileAtomic(pngPath, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(jsonPath, res.Report.Encode); err != nil {
		return nil, err
	}
	return []string{jsonPath, pngPath}, nil
}

// printLesions prints one line per lesion type and the model's caveat.
func printLesions(w io.Writer, l *report.Lesions) {
	for _, t := range l.Types {
		label := fmt.Sprintf("%s (%s)", t.Type, t.Name)
		if !t.Detected {
			fmt.Fprintf(w, "  lesion %-24s NOT DETECTED by this model (cross-validated AUPR %s): a count of %d means nothing\n", label, fmtPtr(t.CVAUPR, "%.3f"), t.Count)
			continue
		}
		near := ""
		if t.MinFoveaDistanceDD != nil {
			near = fmt.Sprintf(", nearest %.2f disc diameters from the fovea", *t.MinFoveaDistanceDD)
		}
		q := t.Quadrants
		fmt.Fprintf(w, "  lesion %-24s %d objects, %d boxes; quadrants ST %d, SN %d, IT %d, IN %d, unknown %d%s; cv AUPR %s\n",
			label, t.Count, len(t.Boxes), q.SuperiorTemporal, q.SuperiorNasal, q.InferiorTemporal, q.InferiorNasal, q.Unknown, near, fmtPtr(t.CVAUPR, "%.3f"))
	}
	fmt.Fprintf(w, "  lesion caveat  %s\n", l.Caveat)
}

func fmtPtr(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// printDisc prints the disc section: sizes, cup-to-disc ratios, rim and
// zones, or why the disc was not found.
func printDisc(w io.Writer, d *report.Disc) {
	if !d.Found {
		fmt.Fprintf(w, "  disc and cup   not found: %s (model %s)\n", d.Reason, d.Model)
		return
	}
	um := ""
	if d.HeightUm > 0 {
		um = fmt.Sprintf(" (%.0f x %.0f µm, %.2f mm²)", d.HeightUm, d.WidthUm, d.AreaMm2)
	}
	fmt.Fprintf(w, "  disc size      %d x %d px (height x width)%s, area %d px, radius %.1f px; confidence %.2f\n",
		d.HeightPx, d.WidthPx, um, d.AreaPx, d.RadiusPx, d.Confidence)
	if c := d.Cup; c != nil {
		um = ""
		if c.HeightUm > 0 {
			um = fmt.Sprintf(" (%.0f x %.0f µm)", c.HeightUm, c.WidthUm)
		}
		fmt.Fprintf(w, "  cup size       %d x %d px%s, area %d px\n", c.HeightPx, c.WidthPx, um, c.AreaPx)
	}
	if c := d.CDR; c != nil {
		fmt.Fprintf(w, "  cup-to-disc    vertical %.2f, horizontal %.2f, area %.2f (unitless)\n", c.Vertical, c.Horizontal, c.Area)
	}
	if rim := d.Rim; rim != nil {
		nt := "nasal/temporal unknown (laterality unknown)"
		if rim.NasalPx != nil && rim.TemporalPx != nil {
			nt = fmt.Sprintf("N %.1f, T %.1f", *rim.NasalPx, *rim.TemporalPx)
		}
		rule := "ISNT rule " + rim.ISNT
		if len(rim.ISNTViolations) > 0 {
			rule += " (" + strings.Join(rim.ISNTViolations, ", ") + ")"
		}
		fmt.Fprintf(w, "  rim width      I %.1f, S %.1f, %s px; %s\n", rim.InferiorPx, rim.SuperiorPx, nt, rule)
	}
	if z := d.Zones; z != nil {
		fmt.Fprintf(w, "  zones          B %.0f-%.0f px, C %.0f-%.0f px from the disc centre (%.1f, %.1f); model %s\n",
			z.B.InnerPx, z.B.OuterPx, z.C.InnerPx, z.C.OuterPx, z.B.Center.X, z.B.Center.Y, d.Model)
	}
}

// withUm is "x px" and, when um > 0, " (y µm)".
func withUm(px, um float64, prec int) string {
	s := fmt.Sprintf("%.*f px", prec, px)
	if um > 0 {
		s += fmt.Sprintf(" (%.0f µm)", um)
	}
	return s
}

// printTrees prints the artery and vein measures and the labelling behind
// them.
func printTrees(w io.Writer, v *report.Vessels) {
	for _, t := range []struct {
		name string
		m    *report.VesselMeasures
	}{{"arteries", v.Artery}, {"veins", v.Vein}} {
		if t.m == nil {
			continue
		}
		fmt.Fprintf(w, "  %-14s average width %s, median segment width %s; fractal dimension %.4f (mask); distance tortuosity %.4f; %d segments, centreline %s\n",
			t.name, withUm(t.m.AverageWidthPx, t.m.AverageWidthUm, 2), withUm(t.m.MedianSegmentWidthPx, t.m.MedianSegmentWidthUm, 2),
			t.m.FractalDimensionMask, t.m.DistanceTortuosity, t.m.SegmentCount, withUm(t.m.CentrelineLengthPx, t.m.CentrelineLengthUm, 0))
	}
	if a := v.AV; a != nil {
		fmt.Fprintf(w, "  artery/vein    %d artery and %d vein segments (%d undecided), %.0f%% of the centreline labelled, mean vote share %.2f; %d artery and %d vein px; model %s\n",
			a.ArterySegments, a.VeinSegments, a.UnlabelledSegments, 100*a.LabelledLengthFraction, a.MeanConfidence, a.ArteryPx, a.VeinPx, a.Model)
	}
}

// printCalibre prints CRAE, CRVE and AVR by both methods and formulas, or
// why they are absent.
func printCalibre(w io.Writer, c *report.Calibre) {
	if !c.Computed {
		fmt.Fprintf(w, "  CRAE/CRVE/AVR  not computed: %s\n", c.Absent)
		return
	}
	val := func(v *float64, format string) string {
		if v == nil {
			return "-"
		}
		return fmt.Sprintf(format, *v)
	}
	line := func(label string, e *report.CalibreEstimate, found string) {
		if e == nil {
			return
		}
		k, h := e.Knudtson, e.Hubbard
		kn := fmt.Sprintf("CRAE %s, CRVE %s", val(k.CRAEPx, "%.1f px"), val(k.CRVEPx, "%.1f px"))
		if k.CRAEUm != nil || k.CRVEUm != nil {
			kn = fmt.Sprintf("CRAE %s (%s), CRVE %s (%s)", val(k.CRAEPx, "%.1f px"), val(k.CRAEUm, "%.0f µm"), val(k.CRVEPx, "%.1f px"), val(k.CRVEUm, "%.0f µm"))
		}
		fmt.Fprintf(w, "  %-14s Knudtson %s, AVR %s; Hubbard CRAE %s, CRVE %s, AVR %s; %s\n", label,
			kn, val(k.AVR, "%.2f"), val(h.CRAEUm, "%.0f µm"), val(h.CRVEUm, "%.0f µm"), val(h.AVR, "%.2f"), found)
		for _, why := range []string{k.Absent, h.Absent} {
			if why != "" {
				fmt.Fprintf(w, "                 absent: %s\n", why)
			}
		}
		for _, warn := range e.Warnings {
			fmt.Fprintf(w, "                 note: %s\n", warn)
		}
	}
	if e := c.SixWidest; e != nil {
		line("CRAE/CRVE/AVR", e, fmt.Sprintf("zone B, %d of %d arterioles and %d of %d venules (six widest)",
			e.ArteriesUsed, e.ArteriesFound, e.VeinsUsed, e.VeinsFound))
	}
	if e := c.MultiCircle; e != nil {
		line("  multi-circle", e, fmt.Sprintf("median over %d circles, at least %d arterioles and %d venules on each", c.Circles, e.ArteriesUsed, e.VeinsUsed))
	}
	if cal := c.Calibration; cal != nil && cal.UmPerPx > 0 {
		note := ""
		if cal.Source == "disc_diameter" {
			note = ": the optic disc taken as 1.8 mm across, so µm values are approximate"
		}
		fmt.Fprintf(w, "                 µm at %.3f µm/px (%s)%s\n", cal.UmPerPx, cal.Source, note)
	}
}

// printQuality prints the quality gate's verdict in one line: the grade
// and its main reasons (at most three), loud when the photo is graded
// reject or is not a fundus photograph.
func printQuality(w io.Writer, q *report.Quality) {
	main := func(rs []string) string {
		if len(rs) > 3 {
			return strings.Join(rs[:3], "; ") + fmt.Sprintf("; and %d more in the report", len(rs)-3)
		}
		return strings.Join(rs, "; ")
	}
	p := q.Probabilities
	probs := fmt.Sprintf("P(good) %.2f, P(usable) %.2f, P(reject) %.2f", p.Good, p.Usable, p.Reject)
	switch {
	case !q.Modality.IsFundus:
		fmt.Fprintf(w, "  quality        NOT A COLOUR FUNDUS PHOTOGRAPH (analysed because the quality gate is off): %s\n", main(q.Modality.Reasons))
	case q.Grade == "reject":
		fmt.Fprintf(w, "  quality        REJECT: %s; measurements may be unreliable (%s)\n", main(q.Reasons), probs)
	case len(q.Reasons) > 0:
		fmt.Fprintf(w, "  quality        %s: %s (%s)\n", q.Grade, main(q.Reasons), probs)
	default:
		fmt.Fprintf(w, "  quality        %s (%s)\n", q.Grade, probs)
	}
}

func printSummary(w io.Writer, r *report.Report, written []string) {
	fmt.Fprintf(w, "%s — %s %dx%d\n", r.Image.File, strings.ToUpper(r.Image.Format), r.Image.Width, r.Image.Height)
	if q := r.Quality; q != nil {
		printQuality(w, q)
	}
	clip := "not clipped"
	if len(r.FOV.Clipped) > 0 {
		clip = "clipped at " + strings.Join(r.FOV.Clipped, ", ")
	}
	fmt.Fprintf(w, "  field of view  centre (%.1f, %.1f) px, radius %.1f px, %s, %.0f%% of the circle inside the photo\n",
		r.FOV.Center.X, r.FOV.Center.Y, r.FOV.RadiusPx, clip, 100*r.FOV.Coverage)
	if r.Calibration.UmPerPx > 0 {
		fmt.Fprintf(w, "  calibration    %.3f µm/px (%s)\n", r.Calibration.UmPerPx, r.Calibration.Source)
	} else {
		fmt.Fprintf(w, "  calibration    %s: %s\n", r.Calibration.Source, r.Calibration.Note)
	}
	if a := r.Anatomy; a != nil {
		fmt.Fprintf(w, "  optic disc     centre (%.1f, %.1f) px, confidence %.2f\n", a.Disc.Center.X, a.Disc.Center.Y, a.Disc.Confidence)
		fmt.Fprintf(w, "  fovea          centre (%.1f, %.1f) px, confidence %.2f; %.1f px from the disc\n", a.Fovea.Center.X, a.Fovea.Center.Y, a.Fovea.Confidence, a.DiscFoveaDistancePx)
		fmt.Fprintf(w, "  eye            %s eye (laterality), %s field\n", a.Laterality, a.Field)
	}
	if d := r.Disc; d != nil {
		printDisc(w, d)
	}
	if v := r.Vessels; v != nil {
		fmt.Fprintf(w, "  vessels        density %.4f of the field of view (%d of %d px, unitless); mean probability %.3f\n",
			v.DensityFOV, v.VesselPx, v.FOVPx, v.MeanProbFOV)
		fmt.Fprintf(w, "                 model %s, threshold %.2f\n", v.Model, v.Threshold)
		if m := v.Measures; m != nil {
			width := fmt.Sprintf("%.2f px", m.AverageWidthPx)
			if m.AverageWidthUm > 0 {
				width += fmt.Sprintf(" (%.1f µm)", m.AverageWidthUm)
			}
			fmt.Fprintf(w, "  biomarkers     fractal dimension %.4f (mask, AutoMorph) / %.4f (skeleton); average width %s\n",
				m.FractalDimensionMask, m.FractalDimensionSkeleton, width)
			fmt.Fprintf(w, "                 distance tortuosity %.4f; %d segments, %d branch points; centreline %.0f px\n",
				m.DistanceTortuosity, m.SegmentCount, m.BranchPoints, m.CentrelineLengthPx)
		}
		printTrees(w, v)
		for _, z := range v.Zones {
			fmt.Fprintf(w, "  zone %s         vessel density %.4f, fractal dimension %.4f (mask), average width %.2f px, %d segments\n",
				z.Zone, z.Density, z.Measures.FractalDimensionMask, z.Measures.AverageWidthPx, z.Measures.SegmentCount)
		}
		if c := v.Calibre; c != nil {
			printCalibre(w, c)
		}
	}
	if l := r.Lesions; l != nil {
		printLesions(w, l)
	}
	if d := r.Diagnoses; d != nil {
		printDiagnoses(w, d)
	}
	var parts []string
	var total float64
	for _, t := range r.Timings {
		parts = append(parts, fmt.Sprintf("%s %.0f ms", t.Stage, t.Ms))
		total += t.Ms
	}
	fmt.Fprintf(w, "  timings        %s (total %.0f ms)\n", strings.Join(parts, ", "), total)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "  warning        %s\n", warn)
	}
	if len(written) > 0 {
		fmt.Fprintf(w, "  wrote          %s\n", strings.Join(written, ", "))
	}
}

// printDiagnoses gives one line per judged disease: label, probability
// against its threshold, and the caveat once.
func printDiagnoses(w io.Writer, d *report.Diagnoses) {
	for i, f := range d.Findings {
		head := "               "
		if i == 0 {
			head = "  diagnoses    "
		}
		verdict := "negative"
		if f.Positive {
			verdict = "POSITIVE"
		}
		what := map[string]string{"dr": "P(referable, grade >= 2)", "dme": "P(any risk, grade >= 1)"}[f.Key]
		if what == "" {
			what = "probability"
		}
		fmt.Fprintf(w, "%s%s: %s (%s grade %d), %s %.2f vs threshold %.2f: %s\n",
			head, f.Name, f.Label, f.Scale, f.Grade, what, f.Probability, f.Threshold, verdict)
	}
	for _, n := range d.NotJudged {
		fmt.Fprintf(w, "               %s: not judged (%s)\n", n.Section, n.Reason)
	}
	fmt.Fprintf(w, "               %s\n", d.Caveat)
}
