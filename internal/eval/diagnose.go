package eval

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/retinalgpt/retinalgpt/internal/fundus"
)

// DiagnoseSample is one labelled photo of a diagnosis set. A label that
// the set does not give is -1.
type DiagnoseSample struct {
	Image    string // path of the photo
	Name     string // as labels.csv gives it
	DR       int    // ICDR grade 0-4
	DME      int    // IDRiD DME risk 0-2
	Glaucoma int    // 0/1
	Cataract int    // 0/1
	Abnormal int    // 0/1 (from the class name: anything but "normal")
}

// Diagnosis set layouts for OpenDiagnoseSet.
const (
	// DiagnoseLayoutLabels is the generic layout: ROOT/labels.csv with a
	// column image (a path relative to ROOT/images/, or failing that to
	// ROOT) and any of dr_grade (0-4), dme_risk (0-2), glaucoma (0/1),
	// cataract (0/1) and label (a class name; "normal" is normal, any
	// other name abnormal, and when the glaucoma or cataract column is
	// absent, the names "glaucoma" and "cataract" set them). Empty cells
	// are unknown. The shared IDRiD grading copy is in this layout.
	DiagnoseLayoutLabels = "labels"
	// DiagnoseLayoutEye4 reads the shared eye_diseases_4class copy's
	// labels.csv: the folder_label column is the class, except that the
	// EyePACS photos (source_by_filename "eyepacs", filed under
	// diabetic_retinopathy, most of them grade 0) take their DR grade from
	// eyepacs_trainLabels_level_if_eyepacs_name, are neither glaucoma nor
	// cataract, and are abnormal exactly when that grade is above 0; an
	// ODIR-5K photo filed in two folders has both diseases; the
	// unknown_augmented files (augmented copies of unknown originals) are
	// left out unless includeAugmented.
	DiagnoseLayoutEye4 = "eye4"
)

// OpenDiagnoseSet reads ROOT/labels.csv in the given layout. only, when
// not empty, keeps the photos whose labels.csv image value it lists.
func OpenDiagnoseSet(root, layout string, includeAugmented bool, only map[string]bool) ([]DiagnoseSample, error) {
	p := filepath.Join(root, "labels.csv")
	var need []string
	switch layout {
	case DiagnoseLayoutLabels, "":
		need = []string{"image"}
	case DiagnoseLayoutEye4:
		need = []string{"image", "folder_label", "source_by_filename", "eyepacs_trainlabels_level_if_eyepacs_name"}
	default:
		return nil, fmt.Errorf("unknown layout %q (want %s or %s)", layout, DiagnoseLayoutLabels, DiagnoseLayoutEye4)
	}
	rows, err := readCSV(p, need...)
	if err != nil {
		return nil, fmt.Errorf("diagnosis labels: %w", err)
	}
	folders := map[string]map[string]bool{} // eye4: ODIR-5K file name -> folders
	if layout == DiagnoseLayoutEye4 {
		for _, r := range rows {
			if r.Get("source_by_filename") == "odir5k" {
				b := path.Base(r.Get("image"))
				if folders[b] == nil {
					folders[b] = map[string]bool{}
				}
				folders[b][r.Get("folder_label")] = true
			}
		}
	}
	var out []DiagnoseSample
	for _, r := range rows {
		name := r.Get("image")
		if name == "" {
			return nil, fmt.Errorf("%s:%d: empty image", p, r.Line)
		}
		if len(only) > 0 && !only[name] {
			continue
		}
		s := DiagnoseSample{Name: name, DR: -1, DME: -1, Glaucoma: -1, Cataract: -1, Abnormal: -1}
		if layout == DiagnoseLayoutEye4 {
			s.Image = filepath.Join(root, filepath.FromSlash(name))
			src, folder := r.Get("source_by_filename"), r.Get("folder_label")
			switch {
			case src == "unknown_augmented" && !includeAugmented:
				continue
			case src == "eyepacs":
				g, err := intCell(r.Get("eyepacs_trainlabels_level_if_eyepacs_name"), 4)
				if err != nil || g < 0 {
					return nil, fmt.Errorf("%s:%d: EyePACS grade: want 0-4", p, r.Line)
				}
				s.DR, s.Glaucoma, s.Cataract, s.Abnormal = g, 0, 0, b2i(g > 0)
			default:
				fs := map[string]bool{folder: true}
				if src == "odir5k" {
					fs = folders[path.Base(name)]
				}
				s.Glaucoma, s.Cataract, s.Abnormal = b2i(fs["glaucoma"]), b2i(fs["cataract"]), b2i(!(len(fs) == 1 && fs["normal"]))
				if len(fs) == 1 && fs["normal"] {
					s.DR, s.DME = 0, 0
				}
			}
			out = append(out, s)
			continue
		}
		s.Image = filepath.Join(root, "images", filepath.FromSlash(name))
		if _, err := os.Stat(s.Image); err != nil {
			s.Image = filepath.Join(root, filepath.FromSlash(name))
		}
		for _, c := range []struct {
			col string
			max int
			dst *int
		}{{"dr_grade", 4, &s.DR}, {"dme_risk", 2, &s.DME}, {"glaucoma", 1, &s.Glaucoma}, {"cataract", 1, &s.Cataract}} {
			v, err := intCell(r.Get(c.col), c.max)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %w", p, r.Line, c.col, err)
			}
			*c.dst = v
		}
		if l := strings.ToLower(r.Get("label")); l != "" {
			s.Abnormal = b2i(l != "normal")
			if !r.Has("glaucoma") {
				s.Glaucoma = b2i(l == "glaucoma")
			}
			if !r.Has("cataract") {
				s.Cataract = b2i(l == "cataract")
			}
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no photos to evaluate", p)
	}
	return out, nil
}

// ReadImageList reads one labels.csv image value per line (blank lines
// and lines starting with # ignored), for OpenDiagnoseSet's only.
func ReadImageList(p string) (map[string]bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			out[t] = true
		}
	}
	return out, sc.Err()
}

func intCell(v string, max int) (int, error) {
	if v == "" {
		return -1, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || int(f) > max {
		return -1, fmt.Errorf("%q: want a whole number 0-%d or empty", v, max)
	}
	return int(f), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DiagnoseVerdict is the diagnose stage's calibrated output for one photo
// and its decision thresholds.
type DiagnoseVerdict struct {
	DR       [5]float64
	DME      [3]float64
	Glaucoma float64
	Cataract float64
	Abnormal float64
	// DRGrade and DMEGrade are the grades the report gives
	// (diagnose.DecidedGrade: the most probable on the decided side of
	// the threshold), scored for accuracy and kappa.
	DRGrade, DMEGrade int
	// Thresholds on P(referable DR), P(any DME), glaucoma, cataract,
	// abnormal.
	ReferableThreshold, DMEThreshold, GlaucomaThreshold, CataractThreshold, AbnormalThreshold float64
}

// DiagnoseFunc judges one decoded photo.
type DiagnoseFunc func(ctx context.Context, img *fundus.Image) (DiagnoseVerdict, error)

// GradeScores are a multi-class task's figures.
type GradeScores struct {
	N        int      `json:"n"`
	Accuracy float64  `json:"accuracy"`
	Kappa    *float64 `json:"kappa"` // quadratic-weighted Cohen's kappa; null when undefined (one grade only)
	ECE      float64  `json:"ece"`   // top-label expected calibration error, 10 bins
	// Sensitivity and Specificity per grade (one against the rest); null
	// where the grade has no photo (or every photo has it).
	Sensitivity []*float64 `json:"sensitivity"`
	Specificity []*float64 `json:"specificity"`
	Confusion   [][]int    `json:"confusion"` // [truth][predicted]
}

// BinaryScores are a two-class task's figures at the model's threshold.
type BinaryScores struct {
	N           int       `json:"n"`
	Positives   int       `json:"positives"`
	AUC         *float64  `json:"auc"` // null when one class is absent
	Threshold   float64   `json:"threshold"`
	Accuracy    float64   `json:"accuracy"`
	Sensitivity *float64  `json:"sensitivity"`
	Specificity *float64  `json:"specificity"`
	ECE         float64   `json:"ece"`       // expected calibration error, 10 bins
	Confusion   [2][2]int `json:"confusion"` // [truth][predicted], 0 negative
}

// DiagnoseFailure is a photo that could not be judged.
type DiagnoseFailure struct {
	Image string `json:"image"`
	Error string `json:"error"`
}

// DiagnoseReport is eval diagnose's result. The flat fields repeat the
// headline figures of the nested ones (absent when the set has no such
// label).
type DiagnoseReport struct {
	Root   string `json:"root"`
	Layout string `json:"layout"`
	Model  string `json:"model"`
	Images int    `json:"images"`
	Judged int    `json:"judged"`

	DRAccuracy   *float64          `json:"dr_accuracy,omitempty"`
	DRKappa      *float64          `json:"dr_kappa,omitempty"`
	ReferableAUC *float64          `json:"referable_auc,omitempty"`
	DMEAccuracy  *float64          `json:"dme_accuracy,omitempty"`
	DMEKappa     *float64          `json:"dme_kappa,omitempty"`
	DMEAnyAUC    *float64          `json:"dme_any_auc,omitempty"`
	GlaucomaAUC  *float64          `json:"glaucoma_auc,omitempty"`
	CataractAUC  *float64          `json:"cataract_auc,omitempty"`
	AbnormalAUC  *float64          `json:"abnormal_auc,omitempty"`
	DR           *GradeScores      `json:"dr,omitempty"`
	Referable    *BinaryScores     `json:"referable,omitempty"`
	DME          *GradeScores      `json:"dme,omitempty"`
	DMEAny       *BinaryScores     `json:"dme_any,omitempty"`
	Glaucoma     *BinaryScores     `json:"glaucoma,omitempty"`
	Cataract     *BinaryScores     `json:"cataract,omitempty"`
	Abnormal     *BinaryScores     `json:"abnormal,omitempty"`
	Failures     []DiagnoseFailure `json:"failures"`
	Seconds      float64           `json:"seconds"`
	PerImageS    float64           `json:"median_image_seconds"`
}

// EvalDiagnose runs fn on every sample, workers at a time (0: GOMAXPROCS),
// and scores it. A photo fn fails on (no field of view, unreadable) is
// listed in Failures and left out of the figures; cancellation stops it.
func EvalDiagnose(ctx context.Context, root, layout, model string, samples []DiagnoseSample, fn DiagnoseFunc, workers int, progress func(done, total int)) (*DiagnoseReport, error) {
	start := time.Now()
	verdicts := make([]DiagnoseVerdict, len(samples))
	errs := make([]error, len(samples))
	durations := make([]float64, len(samples))
	var (
		mu   sync.Mutex
		done int
	)
	err := forEach(ctx, len(samples), workers, func(i int) {
		t0 := time.Now()
		var v DiagnoseVerdict
		img, err := fundus.Load(samples[i].Image, fundus.Limits{})
		if err == nil {
			v, err = fn(ctx, img)
		}
		mu.Lock()
		defer mu.Unlock()
		verdicts[i], errs[i], durations[i] = v, err, time.Since(t0).Seconds()
		done++
		if progress != nil {
			progress(done, len(samples))
		}
	})
	if err != nil {
		return nil, err
	}
	rep := ScoreDiagnose(samples, verdicts, errs)
	rep.Root, rep.Layout, rep.Model = root, layout, model
	rep.Seconds = time.Since(start).Seconds()
	rep.PerImageS = median(durations)
	return rep, nil
}

// ScoreDiagnose computes the figures; errs[i] != nil leaves sample i out.
func ScoreDiagnose(samples []DiagnoseSample, verdicts []DiagnoseVerdict, errs []error) *DiagnoseReport {
	rep := &DiagnoseReport{Images: len(samples), Failures: []DiagnoseFailure{}}
	var drT, drP, dmeT, dmeP []int
	var drConf, dmeConf []float64
	var ref, dmeAny, gl, ca, ab binarySet
	for i, s := range samples {
		if errs != nil && errs[i] != nil {
			rep.Failures = append(rep.Failures, DiagnoseFailure{Image: s.Name, Error: errs[i].Error()})
			continue
		}
		rep.Judged++
		v := verdicts[i]
		if s.DR >= 0 {
			g := v.DRGrade
			drT, drP, drConf = append(drT, s.DR), append(drP, g), append(drConf, v.DR[g])
			ref.add(v.DR[2]+v.DR[3]+v.DR[4], s.DR >= 2, v.ReferableThreshold)
		}
		if s.DME >= 0 {
			g := v.DMEGrade
			dmeT, dmeP, dmeConf = append(dmeT, s.DME), append(dmeP, g), append(dmeConf, v.DME[g])
			dmeAny.add(v.DME[1]+v.DME[2], s.DME >= 1, v.DMEThreshold)
		}
		if s.Glaucoma >= 0 {
			gl.add(v.Glaucoma, s.Glaucoma == 1, v.GlaucomaThreshold)
		}
		if s.Cataract >= 0 {
			ca.add(v.Cataract, s.Cataract == 1, v.CataractThreshold)
		}
		if s.Abnormal >= 0 {
			ab.add(v.Abnormal, s.Abnormal == 1, v.AbnormalThreshold)
		}
	}
	if len(drT) > 0 {
		rep.DR = gradeScores(drT, drP, drConf, 5)
		rep.DRAccuracy, rep.DRKappa = fp(rep.DR.Accuracy), rep.DR.Kappa
		rep.Referable = ref.scores()
		rep.ReferableAUC = rep.Referable.AUC
	}
	if len(dmeT) > 0 {
		rep.DME = gradeScores(dmeT, dmeP, dmeConf, 3)
		rep.DMEAccuracy, rep.DMEKappa = fp(rep.DME.Accuracy), rep.DME.Kappa
		rep.DMEAny = dmeAny.scores()
		rep.DMEAnyAUC = rep.DMEAny.AUC
	}
	if gl.n() > 0 {
		rep.Glaucoma = gl.scores()
		rep.GlaucomaAUC = rep.Glaucoma.AUC
	}
	if ca.n() > 0 {
		rep.Cataract = ca.scores()
		rep.CataractAUC = rep.Cataract.AUC
	}
	if ab.n() > 0 {
		rep.Abnormal = ab.scores()
		rep.AbnormalAUC = rep.Abnormal.AUC
	}
	return rep
}

func fp(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	r := math.Round(v*1e4) / 1e4
	return &r
}

func gradeScores(truth, pred []int, conf []float64, k int) *GradeScores {
	g := &GradeScores{N: len(truth), Confusion: make([][]int, k)}
	for i := range g.Confusion {
		g.Confusion[i] = make([]int, k)
	}
	correct := make([]bool, len(truth))
	hits := 0
	for i := range truth {
		g.Confusion[truth[i]][pred[i]]++
		if correct[i] = truth[i] == pred[i]; correct[i] {
			hits++
		}
	}
	g.Accuracy = round4(float64(hits) / float64(len(truth)))
	g.Kappa = fp(QuadraticKappa(g.Confusion))
	g.ECE = round4(ECE(conf, correct, 10))
	for c := 0; c < k; c++ {
		var b Binary
		for i := range truth {
			b.Add(pred[i] == c, truth[i] == c)
		}
		g.Sensitivity = append(g.Sensitivity, fpIf(b.TP+b.FN > 0, b.Sensitivity()))
		g.Specificity = append(g.Specificity, fpIf(b.TN+b.FP > 0, b.Specificity()))
	}
	return g
}

func fpIf(ok bool, v float64) *float64 {
	if !ok {
		return nil
	}
	return fp(v)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

type binarySet struct {
	p   []float64
	y   []bool
	thr float64
}

func (b *binarySet) add(p float64, y bool, thr float64) {
	b.p, b.y, b.thr = append(b.p, p), append(b.y, y), thr
}

func (b *binarySet) n() int { return len(b.p) }

func (b *binarySet) scores() *BinaryScores {
	s := &BinaryScores{N: len(b.p), Threshold: round4(b.thr)}
	sc := make([]Scored, len(b.p))
	var bin Binary
	for i, p := range b.p {
		sc[i] = Scored{Score: float32(p), Truth: b.y[i]}
		pred := p >= b.thr
		bin.Add(pred, b.y[i])
		s.Confusion[b2i(b.y[i])][b2i(pred)]++
		if b.y[i] {
			s.Positives++
		}
	}
	s.AUC = fp(AUC(sc))
	s.Accuracy = round4(bin.Accuracy())
	s.Sensitivity = fpIf(bin.TP+bin.FN > 0, bin.Sensitivity())
	s.Specificity = fpIf(bin.TN+bin.FP > 0, bin.Specificity())
	y := make([]bool, len(b.y))
	copy(y, b.y)
	s.ECE = round4(ECE(b.p, y, 10))
	return s
}

// QuadraticKappa is Cohen's kappa with quadratic weights of a k x k
// confusion matrix [truth][predicted]; NaN when undefined (one class).
func QuadraticKappa(c [][]int) float64 {
	k := len(c)
	if k < 2 {
		return math.NaN()
	}
	rows, cols := make([]float64, k), make([]float64, k)
	var n float64
	for i := range c {
		for j, v := range c[i] {
			rows[i] += float64(v)
			cols[j] += float64(v)
			n += float64(v)
		}
	}
	var obs, exp float64
	for i := range c {
		for j := range c[i] {
			w := float64((i-j)*(i-j)) / float64((k-1)*(k-1))
			obs += w * float64(c[i][j])
			exp += w * rows[i] * cols[j] / n
		}
	}
	if n == 0 || exp == 0 {
		return math.NaN()
	}
	return 1 - obs/exp
}

// ECE is the expected calibration error of probabilities p for events y:
// over `bins` equal-width bins of p, the share of samples in the bin times
// |mean p - frequency of y|. For a multi-class task pass the top class's
// probability and whether it was right (top-label ECE).
func ECE(p []float64, y []bool, bins int) float64 {
	if len(p) == 0 {
		return math.NaN()
	}
	sumP, sumY, cnt := make([]float64, bins), make([]float64, bins), make([]int, bins)
	for i, v := range p {
		b := min(int(v*float64(bins)), bins-1)
		b = max(b, 0)
		sumP[b] += v
		if y[i] {
			sumY[b]++
		}
		cnt[b]++
	}
	var e float64
	for b := range cnt {
		if cnt[b] > 0 {
			e += float64(cnt[b]) / float64(len(p)) * math.Abs(sumP[b]-sumY[b]) / float64(cnt[b])
		}
	}
	return e
}
