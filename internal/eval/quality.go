package eval

// quality.go scores the quality and modality gate against a folder in the
// layout of the shared eye_diseases_4class copy: ROOT/labels.csv with a
// column image (path relative to ROOT) and a column eyeq_quality (EyeQ's
// grade: 0 good, 1 usable, 2 reject; empty for photos EyeQ did not grade);
// an optional column source_by_filename splits the modality figures by
// source. Every listed photo is a real fundus photograph, so every photo
// the gate calls "not a fundus photograph" is a false rejection; the
// graded ones also give the 3-class figures and the reject-vs-rest AUC.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// QualitySample is one photo of a quality set.
type QualitySample struct {
	Image  string // path of the photo
	Name   string // as labels.csv gives it
	Source string // labels.csv source_by_filename, or ""
	Grade  int    // EyeQ grade 0..2, or -1 when not graded
}

// OpenQualitySet reads ROOT/labels.csv (columns image and eyeq_quality;
// source_by_filename optional; others ignored).
func OpenQualitySet(root string) ([]QualitySample, error) {
	path := filepath.Join(root, "labels.csv")
	rows, err := readCSV(path, "image", "eyeq_quality")
	if err != nil {
		return nil, fmt.Errorf("quality labels: %w", err)
	}
	var out []QualitySample
	for _, row := range rows {
		line := row.Line
		name := row.Get("image")
		s := QualitySample{Image: filepath.Join(root, name), Name: name, Grade: -1}
		switch g := row.Get("eyeq_quality"); g {
		case "":
		case "0", "1", "2":
			s.Grade = int(g[0] - '0')
		default:
			return nil, fmt.Errorf("%s:%d: eyeq_quality %q: want 0, 1, 2 or empty", path, line, g)
		}
		s.Source = row.Get("source_by_filename") // optional column
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return out, nil
}

// QualityVerdict is what the gate says about one photo.
type QualityVerdict struct {
	IsFundus     bool
	Grade        int     // 0 good, 1 usable, 2 reject
	RejectScore  float64 // P(reject): the score behind the reject-vs-rest AUC
	NotGoodScore float64 // P(usable or reject)
	Reasons      []string
}

// QualityFunc runs the gate on one decoded photo.
type QualityFunc func(ctx context.Context, img *fundus.Image) (QualityVerdict, error)

// QualityRefusal is a photo the gate called not a fundus photograph.
type QualityRefusal struct {
	Image   string   `json:"image"`
	Source  string   `json:"source,omitempty"`
	Grade   *int     `json:"eyeq_grade,omitempty"`
	Reasons []string `json:"reasons"`
}

// ModalityCount is the modality result over a group of photos.
type ModalityCount struct {
	Source    string  `json:"source"`
	Images    int     `json:"images"`
	NotFundus int     `json:"not_fundus"`
	Rate      float64 `json:"false_reject_rate"`
}

// QualityReport is the result of a quality evaluation.
type QualityReport struct {
	Root   string `json:"root"`
	Images int    `json:"images"`
	Graded int    `json:"graded"`
	// Over the graded photos: Confusion[truth][predicted], with photos
	// refused as not fundus counted as predicted reject. The rates are
	// null where they have no photos to count.
	Confusion   [3][3]int   `json:"confusion"`
	Accuracy    *float64    `json:"accuracy"`
	Recall      [3]*float64 `json:"recall"` // good, usable, reject
	RejectAUC   *float64    `json:"reject_auc"`
	NotGoodAUC  *float64    `json:"not_good_auc"` // usable+reject against good
	GoodRefused int         `json:"graded_good_rejected"`
	// Over every photo: the modality false-reject rate, overall and by
	// source (sorted by name; absent without a source column).
	Modality  ModalityCount    `json:"modality"`
	BySource  []ModalityCount  `json:"modality_by_source,omitempty"`
	Refused   []QualityRefusal `json:"not_fundus"`
	Seconds   float64          `json:"seconds"`
	PerImageS float64          `json:"median_image_seconds"`
}

// EvalQuality runs fn on every sample, workers at a time (0: GOMAXPROCS),
// and scores it. progress, if not nil, is called after each photo (from
// one goroutine at a time).
func EvalQuality(ctx context.Context, root string, samples []QualitySample, fn QualityFunc, workers int, progress func(done, total int)) (*QualityReport, error) {
	start := time.Now()
	verdicts := make([]QualityVerdict, len(samples))
	durations := make([]float64, len(samples))
	var (
		mu       sync.Mutex
		firstErr error
		done     int
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err := forEach(ctx, len(samples), workers, func(i int) {
		t0 := time.Now()
		v, err := qualityOne(ctx, samples[i], fn)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
			cancel()
		}
		verdicts[i], durations[i] = v, time.Since(t0).Seconds()
		done++
		if progress != nil && err == nil {
			progress(done, len(samples))
		}
	})
	if firstErr != nil {
		return nil, firstErr
	}
	if err != nil {
		return nil, err
	}
	rep := scoreQuality(root, samples, verdicts)
	rep.Seconds = time.Since(start).Seconds()
	rep.PerImageS = median(durations)
	return rep, nil
}

func qualityOne(ctx context.Context, s QualitySample, fn QualityFunc) (QualityVerdict, error) {
	if err := ctx.Err(); err != nil {
		return QualityVerdict{}, err
	}
	img, err := fundus.Load(s.Image, fundus.Limits{})
	if err != nil {
		return QualityVerdict{}, err
	}
	v, err := fn(ctx, img)
	if err != nil {
		return QualityVerdict{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	if v.Grade < 0 || v.Grade > 2 {
		return QualityVerdict{}, fmt.Errorf("%s: grade %d out of 0..2", s.Name, v.Grade)
	}
	return v, nil
}

// scoreQuality turns the verdicts into the report.
func scoreQuality(root string, samples []QualitySample, verdicts []QualityVerdict) *QualityReport {
	rep := &QualityReport{Root: root, Images: len(samples), Refused: []QualityRefusal{}}
	var sR, sN []Scored
	bySource := map[string]*ModalityCount{}
	for i, s := range samples {
		v := verdicts[i]
		g := v.Grade
		if !v.IsFundus {
			g = 2
			r := QualityRefusal{Image: s.Name, Source: s.Source, Reasons: v.Reasons}
			if s.Grade >= 0 {
				r.Grade = &samples[i].Grade
			}
			rep.Refused = append(rep.Refused, r)
		}
		rep.Modality.Images++
		if s.Source != "" {
			c := bySource[s.Source]
			if c == nil {
				c = &ModalityCount{Source: s.Source}
				bySource[s.Source] = c
			}
			c.Images++
			if !v.IsFundus {
				c.NotFundus++
			}
		}
		if !v.IsFundus {
			rep.Modality.NotFundus++
		}
		if s.Grade < 0 {
			continue
		}
		rep.Graded++
		rep.Confusion[s.Grade][g]++
		if s.Grade == 0 && g == 2 {
			rep.GoodRefused++
		}
		sR = append(sR, Scored{Score: float32(v.RejectScore), Truth: s.Grade == 2})
		sN = append(sN, Scored{Score: float32(v.NotGoodScore), Truth: s.Grade != 0})
	}
	rep.Modality.Source = "all"
	rep.Modality.Rate = ratio(int64(rep.Modality.NotFundus), int64(rep.Modality.Images))
	for _, c := range bySource {
		c.Rate = ratio(int64(c.NotFundus), int64(c.Images))
		rep.BySource = append(rep.BySource, *c)
	}
	slices.SortFunc(rep.BySource, func(a, b ModalityCount) int { return strings.Compare(a.Source, b.Source) })
	right := 0
	for c := range 3 {
		right += rep.Confusion[c][c]
		n := rep.Confusion[c][0] + rep.Confusion[c][1] + rep.Confusion[c][2]
		rep.Recall[c] = finite(ratio(int64(rep.Confusion[c][c]), int64(n)))
	}
	rep.Accuracy = finite(ratio(int64(right), int64(rep.Graded)))
	rep.RejectAUC, rep.NotGoodAUC = finite(AUC(sR)), finite(AUC(sN))
	return rep
}
