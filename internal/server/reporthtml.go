package server

import (
	"bytes"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"io/fs"
	"net/http"
	"strings"

	"github.com/retinalgpt/retinalgpt/internal/overlay"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

//go:embed report.html.tmpl
var reportTmplText string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f": func(digits int, v any) string {
		switch x := v.(type) {
		case float64:
			return fmt.Sprintf("%.*f", digits, x)
		case *float64:
			if x == nil {
				return "—"
			}
			return fmt.Sprintf("%.*f", digits, *x)
		case int:
			return fmt.Sprint(x)
		}
		return fmt.Sprint(v)
	},
	"um": func(v float64) string {
		if v == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f µm", v)
	},
	"upper": strings.ToUpper,
}).Parse(reportTmplText))

// reportPage is what report.html.tmpl draws.
type reportPage struct {
	R        *report.Report
	Photo    template.URL // data URI, "" when the photo is not kept
	Overlay  template.URL
	Measures []measureRow
}

// measureRow is one line of the vessel table: a measure, its unit and its
// value per tree.
type measureRow struct {
	Name, Unit        string
	All, Artery, Vein string
}

func vesselRows(v *report.Vessels) []measureRow {
	if v == nil || v.Measures == nil {
		return nil
	}
	get := func(m *report.VesselMeasures, f func(*report.VesselMeasures) string) string {
		if m == nil {
			return "—"
		}
		return f(m)
	}
	row := func(name, unit string, f func(*report.VesselMeasures) string) measureRow {
		return measureRow{name, unit, get(v.Measures, f), get(v.Artery, f), get(v.Vein, f)}
	}
	ff := func(d int, x float64) string { return fmt.Sprintf("%.*f", d, x) }
	rows := []measureRow{
		row("Fractal dimension (mask)", "—", func(m *report.VesselMeasures) string { return ff(4, m.FractalDimensionMask) }),
		row("Fractal dimension (skeleton)", "—", func(m *report.VesselMeasures) string { return ff(4, m.FractalDimensionSkeleton) }),
		row("Vessel density (frame)", "fraction 0–1", func(m *report.VesselMeasures) string { return ff(4, m.DensityFrame) }),
		row("Average width", "px", func(m *report.VesselMeasures) string { return ff(2, m.AverageWidthPx) }),
		row("Median segment width", "px", func(m *report.VesselMeasures) string { return ff(2, m.MedianSegmentWidthPx) }),
		row("Distance tortuosity", "arc/chord", func(m *report.VesselMeasures) string { return ff(4, m.DistanceTortuosity) }),
		row("Squared-curvature tortuosity", "1/px²", func(m *report.VesselMeasures) string { return fmt.Sprintf("%.4g", m.SquaredCurvatureTort) }),
		row("Tortuosity density", "1/px", func(m *report.VesselMeasures) string { return fmt.Sprintf("%.4g", m.TortuosityDensity) }),
		row("Mean branching angle", "°", func(m *report.VesselMeasures) string { return ff(1, m.MeanBranchingAngleDeg) }),
		row("Segments", "count", func(m *report.VesselMeasures) string { return fmt.Sprint(m.SegmentCount) }),
		row("Branch points", "count", func(m *report.VesselMeasures) string { return fmt.Sprint(m.BranchPoints) }),
		row("Centreline length", "px", func(m *report.VesselMeasures) string { return ff(0, m.CentrelineLengthPx) }),
	}
	if v.Measures.AverageWidthUm > 0 {
		rows = append(rows,
			row("Average width", "µm", func(m *report.VesselMeasures) string { return ff(1, m.AverageWidthUm) }),
			row("Median segment width", "µm", func(m *report.VesselMeasures) string { return ff(1, m.MedianSegmentWidthUm) }),
			row("Centreline length", "µm", func(m *report.VesselMeasures) string { return ff(0, m.CentrelineLengthUm) }))
	}
	return rows
}

// jpegDataURI encodes img as a JPEG data URI (the printable report's
// pictures; JPEG keeps the page a few hundred kB).
func jpegDataURI(img image.Image) template.URL {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		return ""
	}
	return template.URL("data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}

func (s *Server) getReportHTML(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := s.lookup(r, id, true)
	if err != nil && !errors.Is(err, errNotFound) {
		// The stored photo could not be made ready now (queue full, not
		// ready): the page without pictures, from the stored Report.
		e, err = s.lookup(r, id, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := reportPage{R: e.report, Measures: vesselRows(e.report.Vessels)}
	if e.photo != nil {
		p.Photo = jpegDataURI(e.photo)
		p.Overlay = jpegDataURI(overlay.Draw(e.photo, e.scene, overlay.AllLayers))
	}
	var buf bytes.Buffer
	if err := reportTmpl.Execute(&buf, p); err != nil {
		s.fail(w, r, fmt.Errorf("report.html: %w", err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=\"retinalgpt-%s.html\"", e.id))
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) getReportCSV(w http.ResponseWriter, r *http.Request) {
	e, err := s.lookup(r, r.PathValue("id"), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := writeReportCSV(&buf, e.report); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"retinalgpt-%s.csv\"", e.id))
	_, _ = w.Write(buf.Bytes())
}

// The web app: plain HTML, CSS and JS, embedded; nothing is fetched from
// elsewhere at run time.
//
//go:embed web
var webFS embed.FS

// webHandler serves the web app's files (index.html at /).
func webHandler() http.Handler {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err)
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}
