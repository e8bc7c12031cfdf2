package eval

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// LandmarkSample is a photo with its labelled disc and fovea centres, in
// the photo's pixels.
type LandmarkSample struct {
	Image             string
	Disc, Fovea       disc.Point
	HasDisc, HasFovea bool
}

// OpenLandmarkSet reads ROOT/labels.csv (columns image, od_x, od_y,
// fovea_x, fovea_y; others ignored; empty cells mean "not labelled") and
// ROOT/images/, the layout of ../shared/datasets/idrid/grading.
func OpenLandmarkSet(root string) ([]LandmarkSample, error) {
	path := filepath.Join(root, "labels.csv")
	rows, err := readCSV(path, "image", "od_x", "od_y", "fovea_x", "fovea_y")
	if err != nil {
		return nil, fmt.Errorf("landmark labels: %w", err)
	}
	var out []LandmarkSample
	for _, row := range rows {
		s := LandmarkSample{Image: filepath.Join(root, "images", row.Get("image"))}
		if s.Disc, s.HasDisc, err = point(row.Get("od_x"), row.Get("od_y")); err != nil {
			return nil, fmt.Errorf("%s:%d: optic disc: %w", path, row.Line, err)
		}
		if s.Fovea, s.HasFovea, err = point(row.Get("fovea_x"), row.Get("fovea_y")); err != nil {
			return nil, fmt.Errorf("%s:%d: fovea: %w", path, row.Line, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}

func point(xs, ys string) (disc.Point, bool, error) {
	xs, ys = strings.TrimSpace(xs), strings.TrimSpace(ys)
	if xs == "" && ys == "" {
		return disc.Point{}, false, nil
	}
	x, err1 := strconv.ParseFloat(xs, 64)
	y, err2 := strconv.ParseFloat(ys, 64)
	if err1 != nil || err2 != nil {
		return disc.Point{}, false, fmt.Errorf("bad coordinates %q, %q", xs, ys)
	}
	return disc.Point{X: x, Y: y}, true, nil
}

// LocateFunc finds the disc and fovea in original pixels.
type LocateFunc func(ctx context.Context, img *fundus.Image) (disc.Result, error)

// LandmarkReport holds localization errors, in pixels at ReportWidth.
type LandmarkReport struct {
	Root        string  `json:"root"`
	Images      int     `json:"images"`
	ReportWidth int     `json:"report_width_px"` // errors are scaled to photos this wide (0: the images' own pixels)
	RadiusPx    float64 `json:"radius_px"`       // "within" tolerance at ReportWidth
	ODMedian    float64 `json:"od_median_px"`
	ODMean      float64 `json:"od_mean_px"`
	ODWithin    float64 `json:"od_within_radius"`
	FoveaMedian float64 `json:"fovea_median_px"`
	FoveaMean   float64 `json:"fovea_mean_px"`
	FoveaWithin float64 `json:"fovea_within_radius"`
	// ODAbsent counts labelled discs the locator called absent (below
	// its MinDiscConfidence: "optic disc not found" in a report); their
	// best-guess errors are still in the figures above.
	ODAbsent int `json:"od_absent"`
}

// EvalLocalize runs locate on every sample. Errors are multiplied by
// reportWidth / image width (e.g. 4288 for IDRiD's originals when the
// copies are 2144 wide); radius is in pixels at reportWidth.
func EvalLocalize(ctx context.Context, root string, samples []LandmarkSample, locate LocateFunc, reportWidth int, radius float64, progress func(done, total int)) (*LandmarkReport, error) {
	var odErr, fovErr []float64
	absent := 0
	for i, s := range samples {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := fundus.Load(s.Image, fundus.Limits{})
		if err != nil {
			return nil, err
		}
		r, err := locate(ctx, img)
		if err != nil {
			return nil, err
		}
		scale := 1.0
		if reportWidth > 0 {
			scale = float64(reportWidth) / float64(img.Width)
		}
		if s.HasDisc {
			odErr = append(odErr, scale*disc.Distance(r.Disc.Point, s.Disc))
			if r.DiscAbsent {
				absent++
			}
		}
		if s.HasFovea {
			fovErr = append(fovErr, scale*disc.Distance(r.Fovea.Point, s.Fovea))
		}
		if progress != nil {
			progress(i+1, len(samples))
		}
	}
	od, fo := disc.Summarize(odErr, radius), disc.Summarize(fovErr, radius)
	return &LandmarkReport{
		Root: root, Images: len(samples), ReportWidth: reportWidth, RadiusPx: radius,
		ODMedian: od.Median, ODMean: od.Mean, ODWithin: od.Within,
		FoveaMedian: fo.Median, FoveaMean: fo.Mean, FoveaWithin: fo.Within, ODAbsent: absent,
	}, nil
}
