package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/diagnose"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/internal/quality"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/internal/vessels"
	"github.com/retinalgpt/retinalgpt/models"
)

// DefaultSize is the side of the square analysis image. The vessel model
// was trained on DRIVE (FOV ~540 px) and CHASE_DB1 (FOV ~960 px) with scale
// jitter; 1024 keeps capillaries a few pixels wide on large photos.
const DefaultSize = 1024

// Config sets up an Analyzer; the zero value is ready to use.
type Config struct {
	Runtime infer.Config
	Version string // software version written into reports
}

// Options are per-photo settings.
type Options struct {
	Size       int     // analysis image side; 0: DefaultSize
	UmPerPx    float64 // user calibration; 0: none
	FOVDegrees float64 // camera field of view; 0: unknown
	// Lesions runs the experimental lesion stage (off by default: it takes
	// seconds per photo on two cores and its model is weak, see
	// models/lesions.md). Off, the report lists "lesions" in not_assessed.
	Lesions bool
	// NoQualityGate analyses a photo even when the quality gate finds it
	// is not a colour fundus photograph (for research on odd images); the
	// report then says so in quality and in a warning. Without a field of
	// view nothing can be analysed, and the photo is refused regardless.
	NoQualityGate bool
}

// Analyzer holds the loaded models.
type Analyzer struct {
	cfg     Config
	rt      *infer.Runtime
	vessels *vessels.Segmenter
	av      *vessels.AVSegmenter
	disc    *disc.Locator
	discSHA string // of the disc model's ONNX bytes, hashed once
	cup     *disc.Segmenter
	cupSHA  string // of the disc/cup model's ONNX bytes
	verify  *disc.Verifier
	verSHA  string // of the disc verifier's ONNX bytes
	diag    *diagnose.Classifier
	diagSHA string // of the diagnosis classifier's ONNX bytes
	// The lesion model is loaded on the first Analyze that asks for it.
	lesionOnce sync.Once
	lesions    *lesions.Detector
	lesionErr  error
}

// New loads ONNX Runtime and every model.
func New(cfg Config) (*Analyzer, error) {
	rt, err := infer.Open(cfg.Runtime)
	if err != nil {
		return nil, err
	}
	vm, err := models.Vessels()
	if err != nil {
		rt.Close()
		return nil, err
	}
	seg, err := vessels.New(rt, vm)
	if err != nil {
		rt.Close()
		return nil, err
	}
	a := &Analyzer{cfg: cfg, rt: rt, vessels: seg}
	am, err := models.AV()
	if err == nil {
		a.av, err = vessels.NewAV(rt, am)
	}
	var dm disc.Model
	if err == nil {
		dm, err = disc.ParseModel(models.DiscFiles())
	}
	if err == nil {
		a.disc, err = disc.NewLocator(rt, dm)
		a.discSHA = sha256Hex(dm.ONNX)
	}
	if err == nil {
		var cm disc.CupModel
		if cm, err = disc.ParseCupModel(models.DiscCupFiles()); err == nil {
			a.cup, err = disc.NewSegmenter(rt, cm)
			a.cupSHA = sha256Hex(cm.ONNX)
		}
	}
	if err == nil {
		var vm disc.VerifyModel
		if vm, err = disc.ParseVerifyModel(models.DiscVerifyFiles()); err == nil {
			a.verify, err = disc.NewVerifier(rt, vm)
			a.verSHA = sha256Hex(vm.ONNX)
		}
	}
	if err == nil {
		var gm diagnose.Model
		if gm, err = diagnose.ParseModel(models.DiagnoseFiles()); err == nil {
			a.diag, err = diagnose.NewClassifier(rt, gm)
			a.diagSHA = sha256Hex(gm.ONNX)
		}
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases the models and the runtime.
func (a *Analyzer) Close() error {
	err := a.vessels.Close()
	if a.av != nil {
		err = errors.Join(err, a.av.Close())
	}
	if a.disc != nil {
		err = errors.Join(err, a.disc.Close())
	}
	if a.cup != nil {
		err = errors.Join(err, a.cup.Close())
	}
	if a.verify != nil {
		err = errors.Join(err, a.verify.Close())
	}
	if a.lesions != nil {
		err = errors.Join(err, a.lesions.Close())
	}
	if a.diag != nil {
		err = errors.Join(err, a.diag.Close())
	}
	return errors.Join(err, a.rt.Close())
}

// Segmenter exposes the vessel model for evaluation and benchmarks.
func (a *Analyzer) Segmenter() *vessels.Segmenter { return a.vessels }

// Result is a Report with the pixel products behind it.
type Result struct {
	Report     *report.Report
	Image      *fundus.Image
	Normalized *fundus.Normalized
	// VesselProb is the vessel probability per original pixel (row-major),
	// VesselMask the thresholded vessels inside the FOV, both at the
	// original resolution.
	VesselProb []float32
	VesselMask *image.Gray
	// Arteries and Veins split VesselMask into the artery and the vein
	// tree (a crossing may be in both; a vessel pixel of an undecided
	// segment in neither), at the original resolution.
	Arteries, Veins *image.Gray
	// Landmarks are the disc and fovea in original pixels.
	Landmarks disc.Result
	// Disc is the optic disc and cup segmentation, masks in original
	// pixels; check Disc.Found before using its measures.
	Disc *disc.Segmentation
	// Lesions is the lesion stage's result (probability maps on its
	// working grid, objects, boxes); nil when Options.Lesions was off.
	Lesions *lesions.Result
}

// Analyze runs every stage on one decoded photo.
func (a *Analyzer) Analyze(ctx context.Context, img *fundus.Image, opt Options) (*Result, error) {
	if opt.Size == 0 {
		opt.Size = DefaultSize
	}
	if opt.Size < 64 || opt.Size > 4096 {
		return nil, fmt.Errorf("analysis size %d out of range 64..4096", opt.Size)
	}
	if img == nil || img.Pix == nil {
		return nil, errors.New("analyze: nil image")
	}
	clock := newClock()
	res := &Result{Image: img, Report: a.newReport(img)}
	rep := res.Report

	fov, fovErr := fundus.DetectFOV(img.Pix)
	if fovErr != nil {
		// No field of view: the gate explains what the image is instead.
		return nil, notFundus(img.Name, quality.Assess(img.Pix, fov, fovErr, quality.Options{}), fovErr)
	}
	n := fundus.NormalizeFOV(img, fov, opt.Size)
	res.Normalized = n
	fovMask := n.FOV.Raster(img.Width, img.Height)
	fovPx := countTrue(fovMask)
	rep.FOV = fovSection(n.FOV, fovPx, img.Width, img.Height)
	rep.Analysis = report.AnalysisFrame{
		SizePx: n.Size, ScalePx: report.Round(n.Transform.Scale, 6),
		OffsetX: report.Round(n.Transform.OffsetX, 3), OffsetY: report.Round(n.Transform.OffsetY, 3),
	}
	cal := fundus.Calibrate(n.FOV, opt.UmPerPx, opt.FOVDegrees)
	if n.FOV.Coverage < 0.6 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("only %.0f%% of the field-of-view circle lies inside the photo", 100*n.FOV.Coverage))
	}
	clock.lap(rep, "normalize")

	// The quality gate, before any model runs: refuse what is not a colour
	// fundus photograph; grade the rest (a reject is analysed, with a
	// warning: the photos that most need a diagnosis, cataract, grade
	// reject). Re-graded below once the disc stage says whether the disc
	// is visible.
	qa := quality.Assess(img.Pix, n.FOV, nil, quality.Options{})
	if !qa.Modality.IsFundus && !opt.NoQualityGate {
		return nil, notFundus(img.Name, qa, nil)
	}
	clock.lap(rep, "quality")

	var err error
	res.Landmarks, rep.Anatomy, err = a.locate(ctx, img, n.FOV)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	clock.lap(rep, "disc_fovea")

	if res.Disc, err = a.segmentDisc(ctx, img, n.FOV, res.Landmarks); err != nil {
		return nil, err
	}
	cal = discCalibration(cal, res.Disc)
	rep.Calibration = report.Calibration{UmPerPx: report.Round(cal.UmPerPx, 4), Source: string(cal.Source), Note: cal.Note}
	rep.Disc = discSection(res.Disc, rep.Calibration, img.Width, img.Height)
	switch {
	case !res.Disc.Found:
		rep.Warnings = append(rep.Warnings, "optic disc not found: "+res.Disc.Reason+"; no cup-to-disc ratio or zone measures")
	case res.Disc.Caution != "":
		rep.Warnings = append(rep.Warnings, "optic disc: "+res.Disc.Caution+"; its outline may be less accurate")
	}
	clock.lap(rep, "disc_cup")

	qa = qa.Regrade(landmarkOptions(res.Disc))
	rep.Quality = qualitySection(qa, !opt.NoQualityGate)
	rep.Warnings = append(qualityWarnings(qa), rep.Warnings...)
	clock.add(rep, "quality")

	vm, prob, err := a.segmentVessels(ctx, img, n)
	if err != nil {
		return nil, err
	}
	res.VesselProb = prob
	res.VesselMask, rep.Vessels = vesselSection(prob, fovMask, fovPx, img.Width, img.Height, vm.Threshold, a.vessels.Model())
	clock.lap(rep, "vessels")

	mask := vm.Mask()
	av, err := a.segmentAV(ctx, img, n, mask)
	if err != nil {
		return nil, err
	}
	clock.lap(rep, "av")

	in := biomarkerInput{vessels: vm, mask: mask, av: av, frame: n, cal: rep.Calibration,
		disc: discForBiomarkers(res.Disc), width: img.Width, height: img.Height}
	if in.disc == nil {
		in.noDisc = "optic disc not found"
		if res.Disc.Found {
			in.noDisc = "optic disc radius unusable"
		} else if res.Disc.Reason != "" {
			in.noDisc += " (" + res.Disc.Reason + ")"
		}
	}
	vr, err := vesselMeasures(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	v := rep.Vessels
	v.Measures, v.Artery, v.Vein, v.Zones, v.Calibre = vr.whole, vr.artery, vr.vein, vr.zones, vr.calibre
	if l := vr.labels; l != nil {
		var artPx, veinPx int
		res.Arteries, res.Veins, artPx, veinPx = treesToOriginal(res.VesselMask, n, l.ArteryMask, l.VeinMask)
		am := a.av.Model()
		v.AV = &report.AVLabels{
			Model: am.Meta.Name + "@" + am.Meta.Version, InputPx: AVSize,
			ArterySegments: l.ArterySegments, VeinSegments: l.VeinSegments,
			UnlabelledSegments:     l.UnlabelledSegments + l.CrossingSegments,
			LabelledLengthFraction: report.Round(l.LabelledLengthFraction, 4),
			MeanConfidence:         report.Round(l.MeanConfidence, 4),
			ArteryPx:               artPx, VeinPx: veinPx,
		}
		rep.Warnings = append(rep.Warnings, avWarnings(v)...)
	}
	clock.lap(rep, "biomarkers")

	if !opt.Lesions {
		rep.NotAssessed = append(rep.NotAssessed, report.NotAssessed{Section: "lesions", Reason: NotAssessedLesions})
	} else {
		if err := a.detectLesions(ctx, res); err != nil {
			return nil, err
		}
		clock.lap(rep, "lesions")
	}
	if err := a.diagnoseStage(ctx, res); err != nil {
		return nil, err
	}
	clock.lap(rep, "diagnose")
	return res, nil
}

// VesselProbability runs only the vessel stage of Analyze at analysis size
// size: the vessel probability of every original pixel and the model's
// threshold. Evaluation uses it so that it measures exactly what Analyze
// reports, without paying for the other stages.
func (a *Analyzer) VesselProbability(ctx context.Context, img *fundus.Image, size int) ([]float32, float64, error) {
	n, err := fundus.Normalize(img, size)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", img.Name, err)
	}
	vm, prob, err := a.segmentVessels(ctx, img, n)
	if err != nil {
		return nil, 0, err
	}
	return prob, vm.Threshold, nil
}

// segmentVessels runs the vessel model on the analysis frame and maps the
// probabilities back to the original pixels.
func (a *Analyzer) segmentVessels(ctx context.Context, img *fundus.Image, n *fundus.Normalized) (*vessels.Map, []float32, error) {
	vm, err := a.vessels.Segment(ctx, n.Image)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", img.Name, err)
	}
	return vm, n.ResampleToOriginal(vm.Prob, img.Width, img.Height), nil
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// Locate finds the optic disc and fovea of a photo (original pixels),
// without the other stages: the entry point for landmark evaluation.
func (a *Analyzer) Locate(ctx context.Context, img *fundus.Image) (disc.Result, error) {
	fov, err := fundus.DetectFOV(img.Pix)
	if err != nil {
		return disc.Result{}, fmt.Errorf("%s: %w", img.Name, err)
	}
	r, _, err := a.locate(ctx, img, fov)
	return r, err
}

// locate finds the disc and fovea on the photo normalized to the locator's
// own input size, reusing the FOV already found.
func (a *Analyzer) locate(ctx context.Context, img *fundus.Image, fov fundus.FOV) (disc.Result, *report.Anatomy, error) {
	n := fundus.NormalizeFOV(img, fov, a.disc.Size())
	r, err := a.disc.Locate(ctx, n)
	if err != nil {
		return disc.Result{}, nil, err
	}
	w, h := img.Width, img.Height
	mark := func(l disc.Landmark) report.Landmark {
		return report.Landmark{Center: report.NewPoint(l.X, l.Y, w, h), Confidence: report.Round(l.Confidence, 3)}
	}
	an := &report.Anatomy{
		Model:      "disc@" + r.ModelVersion,
		Disc:       mark(r.Disc),
		Fovea:      mark(r.Fovea),
		Laterality: r.Eye().String(),
		Field:      r.Field(fov).String(),
	}
	if !r.DiscAbsent {
		an.DiscFoveaDistancePx = report.Round(disc.Distance(r.Disc.Point, r.Fovea.Point), 1)
	}
	return r, an, nil
}

func (a *Analyzer) newReport(img *fundus.Image) *report.Report {
	vm, am := a.vessels.Model(), a.av.Model()
	id := img.SHA256
	if len(id) > 16 {
		id = id[:16]
	}
	return &report.Report{
		SchemaVersion: report.SchemaVersion,
		ID:            id,
		CreatedAt:     time.Now().UTC().Truncate(time.Second),
		Software:      report.Software{Name: "retinalgpt", Version: a.cfg.Version, GoVersion: runtime.Version(), ONNXRuntime: a.rt.Version()},
		Models: []report.Model{
			{Name: vm.Meta.Name, Version: vm.Meta.Version, SHA256: vm.SHA256},
			{Name: am.Meta.Name, Version: am.Meta.Version, SHA256: am.SHA256},
			{Name: "disc", Version: a.disc.Model().Version, SHA256: a.discSHA},
			{Name: a.cup.Model().Name, Version: a.cup.Model().Version, SHA256: a.cupSHA},
			{Name: a.verify.Model().Name, Version: a.verify.Model().Version, SHA256: a.verSHA},
		},
		Image:   report.Image{File: filepath.Base(img.Name), Format: img.Format, Width: img.Width, Height: img.Height, Bytes: img.Bytes, SHA256: img.SHA256},
		Timings: []report.Timing{},
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func fovSection(f fundus.FOV, areaPx, w, h int) report.FOV {
	var clipped []string
	for _, c := range []struct {
		on   bool
		side string
	}{{f.ClippedTop, "top"}, {f.ClippedBottom, "bottom"}, {f.ClippedLeft, "left"}, {f.ClippedRight, "right"}} {
		if c.on {
			clipped = append(clipped, c.side)
		}
	}
	return report.FOV{
		Center:   report.NewPoint(f.CX, f.CY, w, h),
		RadiusPx: report.Round(f.Radius, 2),
		Clipped:  clipped,
		Coverage: report.Round(f.Coverage, 4),
		AreaPx:   areaPx,
	}
}

func vesselSection(prob []float32, fov []bool, fovPx, w, h int, thr float64, m models.Model) (*image.Gray, *report.Vessels) {
	mask := image.NewGray(image.Rect(0, 0, w, h))
	var vessel int
	var sum float64
	for i, p := range prob {
		if !fov[i] {
			continue
		}
		sum += float64(p)
		if float64(p) >= thr {
			mask.Pix[i] = 255
			vessel++
		}
	}
	sec := &report.Vessels{
		Model:      m.Meta.Name + "@" + m.Meta.Version,
		Threshold:  thr,
		VesselPx:   vessel,
		FOVPx:      fovPx,
		Resolution: "original",
	}
	if fovPx > 0 {
		sec.DensityFOV = report.Round(float64(vessel)/float64(fovPx), 4)
		sec.MeanProbFOV = report.Round(sum/float64(fovPx), 4)
	}
	return mask, sec
}

// clock records stage durations into the report.
type clock struct{ last time.Time }

func newClock() *clock { return &clock{last: time.Now()} }

func (c *clock) lap(r *report.Report, stage string) {
	now := time.Now()
	r.Timings = append(r.Timings, report.Timing{Stage: stage, Ms: report.Round(float64(now.Sub(c.last).Microseconds())/1000, 1)})
	c.last = now
}

// add adds the time since the last lap to an earlier stage's entry (a
// stage done in two parts, such as the quality gate's second grading).
func (c *clock) add(r *report.Report, stage string) {
	now := time.Now()
	ms := float64(now.Sub(c.last).Microseconds()) / 1000
	c.last = now
	for i := range r.Timings {
		if r.Timings[i].Stage == stage {
			r.Timings[i].Ms = report.Round(r.Timings[i].Ms+ms, 1)
			return
		}
	}
	r.Timings = append(r.Timings, report.Timing{Stage: stage, Ms: report.Round(ms, 1)})
}
