package eval

// disc.go scores the optic disc and cup pipeline (locator, crop,
// segmentation, exactly as analyze runs it) against a dataset in the
// layout of the shared Drishti-GS1 copy: ROOT/labels.csv (columns image,
// label, cdr_mean, disc_center_x, disc_center_y, od_softmap, cup_softmap;
// others ignored), ROOT/images/, and the four-expert soft maps the csv
// names (0/64/128/191/255 = 0..4 experts marked the pixel). The reference
// masks are >= 2 of 4 experts (soft map >= 128, fundus.LoadMask's
// threshold), as train/disccup/train.py scores its cross-validation.
// The IDRiD layout (ROOT/images/ID.jpg, ROOT/OD/ID_OD.png or .tif: one
// expert's disc mask, no cup, no labels) scores the disc alone, on a
// camera the disc/cup model never saw.

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// DiscSample is a photo with its expert disc and cup maps and labels.
type DiscSample struct {
	ID                    string
	Image                 string // path of the photo
	ODSoftmap, CupSoftmap string // paths of the expert soft maps; CupSoftmap "" = no cup reference
	Glaucoma              bool
	Labelled              bool       // Glaucoma and CDRMean are known
	CDRMean               float64    // mean of the experts' vertical CDRs
	Centre                disc.Point // labelled disc centre, photo pixels
	HasCentre             bool
}

// DiscDatasets are the layouts OpenDiscSet reads.
var DiscDatasets = []string{"drishti", "idrid"}

// OpenDiscSet reads a disc dataset: "drishti", ROOT/labels.csv in the
// layout of ../shared/datasets/drishti_gs1; "idrid", the photos and optic
// disc masks in the layout of ../shared/datasets/idrid/segmentation.
func OpenDiscSet(dataset, root string) ([]DiscSample, error) {
	switch dataset {
	case "drishti":
	case "idrid":
		return openIDRiDDiscs(root)
	default:
		return nil, fmt.Errorf("disc dataset %q: the known layouts are %s", dataset, strings.Join(DiscDatasets, ", "))
	}
	path := filepath.Join(root, "labels.csv")
	rows, err := readCSV(path, "image", "label", "cdr_mean", "od_softmap", "cup_softmap")
	if err != nil {
		return nil, fmt.Errorf("disc labels: %w", err)
	}
	var out []DiscSample
	for _, row := range rows {
		line := row.Line
		name := row.Get("image")
		s := DiscSample{
			Labelled:   true,
			ID:         strings.TrimSuffix(name, filepath.Ext(name)),
			Image:      filepath.Join(root, "images", name),
			ODSoftmap:  filepath.Join(root, row.Get("od_softmap")),
			CupSoftmap: filepath.Join(root, row.Get("cup_softmap")),
		}
		switch label := strings.ToLower(row.Get("label")); label {
		case "glaucoma":
			s.Glaucoma = true
		case "normal":
		default:
			return nil, fmt.Errorf("%s:%d: label %q, want glaucoma or normal", path, line, label)
		}
		if s.CDRMean, err = strconv.ParseFloat(row.Get("cdr_mean"), 64); err != nil {
			return nil, fmt.Errorf("%s:%d: cdr_mean: %w", path, line, err)
		}
		if row.Has("disc_center_x") && row.Has("disc_center_y") {
			if s.Centre, s.HasCentre, err = point(row.Get("disc_center_x"), row.Get("disc_center_y")); err != nil {
				return nil, fmt.Errorf("%s:%d: disc centre: %w", path, line, err)
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}

// DiscFunc runs the disc pipeline on one photo: the located disc and
// fovea, and the disc/cup segmentation around the located disc (masks in
// the photo's pixels).
type DiscFunc func(ctx context.Context, img *fundus.Image) (disc.Result, *disc.Segmentation, error)

// DiscImage is one photo's result.
type DiscImage struct {
	ID       string `json:"image"`
	Glaucoma bool   `json:"glaucoma"`
	Found    bool   `json:"found"`
	Reason   string `json:"reason,omitempty"`
	// DiscDice and CupDice are against the >= 2-of-4 masks (IDRiD: its
	// one expert's disc mask; no cup); a disc not found scores 0 (nothing
	// was reported).
	DiscDice float64  `json:"disc_dice"`
	CupDice  *float64 `json:"cup_dice,omitempty"`
	// VCDR is the predicted vertical CDR (absent when not found),
	// VCDRExperts the mean of the experts' CDRs (labels.csv cdr_mean),
	// VCDRReference that of the >= 2-of-4 masks.
	VCDR          *float64 `json:"vcdr,omitempty"`
	VCDRExperts   *float64 `json:"vcdr_experts,omitempty"`
	VCDRReference *float64 `json:"vcdr_reference_mask,omitempty"`
	// LocatorErrorPx is the distance from the located disc centre to the
	// labelled one (absent without a label), LocatorErrorR the same in
	// reference disc radii (equivalent radius of the >= 2-of-4 disc).
	LocatorErrorPx *float64 `json:"locator_error_px,omitempty"`
	LocatorErrorR  *float64 `json:"locator_error_r,omitempty"`
	Seconds        float64  `json:"seconds"`
}

// DiscReport is the result of a disc/cup evaluation.
type DiscReport struct {
	Dataset string      `json:"dataset"`
	Root    string      `json:"root"`
	Images  []DiscImage `json:"images"`
	N       int         `json:"n"`
	// NotFound counts the photos whose disc was reported "not found".
	NotFound int `json:"disc_not_found"`
	// DiscDice and CupDice are means over all images (not found = 0);
	// the _found means are over the found ones only.
	DiscDice      float64  `json:"disc_dice"`
	CupDice       *float64 `json:"cup_dice,omitempty"`
	DiscDiceFound *float64 `json:"disc_dice_found,omitempty"`
	CupDiceFound  *float64 `json:"cup_dice_found,omitempty"`
	// VCDRMAE, VCDRBias (predicted - experts' mean) and GlaucomaAUC (the
	// predicted vCDR as the score, glaucoma positive) are over the found
	// images; absent when too few were found.
	VCDRMAE     *float64 `json:"vcdr_mae,omitempty"`
	VCDRBias    *float64 `json:"vcdr_bias,omitempty"`
	GlaucomaAUC *float64 `json:"glaucoma_auc,omitempty"`
	// The same for the >= 2-of-4 masks themselves and for the experts'
	// mean CDR: the ceiling of this protocol.
	ReferenceVCDRMAE     *float64 `json:"reference_mask_vcdr_mae,omitempty"`
	ReferenceGlaucomaAUC *float64 `json:"reference_mask_glaucoma_auc,omitempty"`
	ExpertsGlaucomaAUC   *float64 `json:"experts_glaucoma_auc,omitempty"`
	// Locator disc-centre error against labels.csv, in the photos' pixels
	// and the share within one reference disc radius.
	LocatorMedianPx *float64 `json:"locator_error_median_px,omitempty"`
	LocatorMeanPx   *float64 `json:"locator_error_mean_px,omitempty"`
	LocatorWithinR  *float64 `json:"locator_within_disc_radius,omitempty"`
	MedianImageS    float64  `json:"median_image_seconds"`
	Seconds         float64  `json:"seconds"`
}

// EvalDisc runs fn on every sample and scores it. progress, if not nil,
// is called after each image.
func EvalDisc(ctx context.Context, dataset, root string, samples []DiscSample, fn DiscFunc, progress func(done, total int, id string)) (*DiscReport, error) {
	rep := &DiscReport{Dataset: dataset, Root: root, N: len(samples)}
	start := time.Now()
	var durations, locErr []float64
	var within int
	for i, s := range samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := fundus.Load(s.Image, fundus.Limits{})
		if err != nil {
			return nil, err
		}
		refDisc, err := loadRef(s.ODSoftmap, img)
		if err != nil {
			return nil, err
		}
		var refCup *image.Gray
		if s.CupSoftmap != "" {
			if refCup, err = loadRef(s.CupSoftmap, img); err != nil {
				return nil, err
			}
		}
		t0 := time.Now()
		lm, seg, err := fn(ctx, img)
		if err != nil {
			return nil, err
		}
		im := DiscImage{ID: s.ID, Glaucoma: s.Glaucoma, Found: seg.Found, Reason: seg.Reason, Seconds: time.Since(t0).Seconds()}
		durations = append(durations, im.Seconds)
		ref := disc.Measure(refDisc, refCup, disc.EyeUnknown)
		if s.Labelled {
			im.VCDRExperts = &s.CDRMean
		}
		var predDisc, predCup *image.Gray // nil: nothing reported
		if seg.Found {
			predDisc, predCup = seg.Disc, seg.Cup
		} else {
			rep.NotFound++
		}
		im.DiscDice = dice(predDisc, refDisc)
		if refCup != nil {
			v, c := ref.VerticalCDR, dice(predCup, refCup)
			im.VCDRReference, im.CupDice = &v, &c
			if seg.Found {
				p := seg.Measures.VerticalCDR
				im.VCDR = &p
			}
		}
		if s.HasCentre {
			e := disc.Distance(lm.Disc.Point, s.Centre)
			im.LocatorErrorPx = &e
			locErr = append(locErr, e)
			if r := ref.EquivalentRadiusPx(); r > 0 {
				er := e / r
				im.LocatorErrorR = &er
				if er <= 1 {
					within++
				}
			}
		}
		rep.Images = append(rep.Images, im)
		if progress != nil {
			progress(i+1, len(samples), s.ID)
		}
	}
	rep.summarize(locErr, within)
	rep.MedianImageS = median(durations)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func (rep *DiscReport) summarize(locErr []float64, within int) {
	var found, refVCDR, expertVCDR []Scored
	var discFound, cupAll, cupFound, absErr, bias, refErr float64
	nFound, nCup, nCupFound, nRef := 0, 0, 0, 0
	for _, im := range rep.Images {
		rep.DiscDice += im.DiscDice
		if im.Found {
			nFound++
			discFound += im.DiscDice
		}
		if im.CupDice != nil {
			nCup++
			cupAll += *im.CupDice
			if im.Found {
				nCupFound++
				cupFound += *im.CupDice
			}
		}
		if im.VCDRExperts == nil || im.VCDRReference == nil {
			continue
		}
		nRef++
		refErr += math.Abs(*im.VCDRReference - *im.VCDRExperts)
		refVCDR = append(refVCDR, Scored{Score: float32(*im.VCDRReference), Truth: im.Glaucoma})
		expertVCDR = append(expertVCDR, Scored{Score: float32(*im.VCDRExperts), Truth: im.Glaucoma})
		if im.VCDR == nil {
			continue
		}
		absErr += math.Abs(*im.VCDR - *im.VCDRExperts)
		bias += *im.VCDR - *im.VCDRExperts
		found = append(found, Scored{Score: float32(*im.VCDR), Truth: im.Glaucoma})
	}
	n := float64(len(rep.Images))
	if n == 0 {
		return
	}
	rep.DiscDice /= n
	if nFound > 0 {
		rep.DiscDiceFound = finite(discFound / float64(nFound))
	}
	if nCup > 0 {
		rep.CupDice = finite(cupAll / float64(nCup))
	}
	if nCupFound > 0 {
		rep.CupDiceFound = finite(cupFound / float64(nCupFound))
	}
	if nRef > 0 {
		rep.ReferenceVCDRMAE = finite(refErr / float64(nRef))
		rep.ReferenceGlaucomaAUC = finite(AUC(refVCDR))
		rep.ExpertsGlaucomaAUC = finite(AUC(expertVCDR))
	}
	if k := float64(len(found)); k > 0 {
		rep.VCDRMAE, rep.VCDRBias = finite(absErr/k), finite(bias/k)
		rep.GlaucomaAUC = finite(AUC(found))
	}
	if len(locErr) > 0 {
		s := disc.Summarize(locErr, 0)
		rep.LocatorMedianPx, rep.LocatorMeanPx = finite(s.Median), finite(s.Mean)
		rep.LocatorWithinR = finite(float64(within) / float64(len(locErr)))
	}
}

// finite is &v, or nil for NaN and infinities (which JSON cannot carry).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// loadRef reads an expert soft map of the photo's size: set where at
// least 2 of the 4 experts marked the pixel (value >= 128).
func loadRef(path string, img *fundus.Image) (*image.Gray, error) {
	m, err := fundus.LoadMask(path, fundus.Limits{})
	if err != nil {
		return nil, err
	}
	if m.Rect.Dx() != img.Width || m.Rect.Dy() != img.Height {
		return nil, fmt.Errorf("%s is %dx%d, the photo %dx%d", path, m.Rect.Dx(), m.Rect.Dy(), img.Width, img.Height)
	}
	return m, nil
}

// dice is the Dice overlap of a predicted mask (any Rect inside ref's
// bounds, or nil for an empty prediction) with a reference mask of the
// whole photo: 2|A∩B| / (|A| + |B|), 1 when both are empty.
func dice(pred, ref *image.Gray) float64 {
	var a, b, both int
	for _, v := range ref.Pix {
		if v != 0 {
			b++
		}
	}
	if pred != nil {
		r := pred.Rect.Intersect(ref.Rect)
		for y := pred.Rect.Min.Y; y < pred.Rect.Max.Y; y++ {
			for x := pred.Rect.Min.X; x < pred.Rect.Max.X; x++ {
				if pred.Pix[pred.PixOffset(x, y)] == 0 {
					continue
				}
				a++
				if image.Pt(x, y).In(r) && ref.Pix[ref.PixOffset(x, y)] != 0 {
					both++
				}
			}
		}
	}
	if a+b == 0 {
		return 1
	}
	return 2 * float64(both) / float64(a+b)
}

// openIDRiDDiscs lists ROOT/images/ID.{jpg,png,tif} with its disc mask
// ROOT/OD/ID_OD.{png,tif} (IDRiD's segmentation set: one expert's disc,
// no cup, no glaucoma label). A photo without a mask is an error: every
// photo of that set has one.
func openIDRiDDiscs(root string) ([]DiscSample, error) {
	photos, err := filepath.Glob(filepath.Join(root, "images", "*"))
	if err != nil {
		return nil, err
	}
	var out []DiscSample
	for _, p := range photos {
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".jpg" && ext != ".jpeg" && ext != ".png" && ext != ".tif" && ext != ".tiff" {
			continue
		}
		id := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		var mask string
		for _, e := range []string{".png", ".tif", ".PNG", ".TIF"} {
			if m := filepath.Join(root, "OD", id+"_OD"+e); isFile(m) {
				mask = m
				break
			}
		}
		if mask == "" {
			return nil, fmt.Errorf("%s: no disc mask %s", p, filepath.Join(root, "OD", id+"_OD.png"))
		}
		out = append(out, DiscSample{ID: id, Image: p, ODSoftmap: mask})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no photos", filepath.Join(root, "images"))
	}
	return out, nil
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
