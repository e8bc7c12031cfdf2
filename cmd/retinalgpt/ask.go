package main

import (
	"errors"
	"fmt"

	"image"
	"os"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/assistant"
	"github.com/retinalgpt/retinalgpt/internal/assistant/intent"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/report"
)

// subjectFlags choose what a conversation is about: a photo analysed now
// (as `analyze` does) or a Report written earlier.
type subjectFlags struct {
	rt         runtimeFlags
	reportPath string
	size       int
	umPerPx    float64
	fovDegrees float64
	maxMP      float64
	lesions    bool
	noGate     bool
}

func (f *subjectFlags) register(cmd *cobra.Command) {
	f.rt.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.reportPath, "report", "", "answer from a saved NAME_report.json instead of analysing a photo (no ONNX Runtime needed)")
	fl.IntVar(&f.size, "size", analysis.DefaultSize, "side of the square analysis image in pixels")
	fl.Float64Var(&f.umPerPx, "um-per-px", 0, "micrometres per original pixel, if known (overrides --fov-degrees)")
	fl.Float64Var(&f.fovDegrees, "fov-degrees", 0, "camera field of view in degrees (e.g. 45), used for micrometres")
	fl.Float64Var(&f.maxMP, "max-megapixels", 100, "refuse images larger than this (decompression-bomb guard)")
	fl.BoolVar(&f.lesions, "lesions", false, lesionsFlagHelp)
	fl.BoolVar(&f.noGate, "no-quality-gate", false, noGateFlagHelp)
}

// subject is the Report a conversation is grounded in, and the analysis
// behind it when the photo was analysed in this run (nil for --report).
type subject struct {
	report *report.Report
	result *analysis.Result
	sample bool
	image  *image.NRGBA // the decoded photo (nil for --report), for --vision
}

// load analyses the photo at path ("" for the bundled sample) with the same
// Analyzer as `analyze`, or reads --report.
func (f *subjectFlags) load(cmd *cobra.Command, path string) (*subject, error) {
	if f.reportPath != "" {
		if path != "" {
			return nil, usageError{errors.New("give either IMAGE or --report, not both")}
		}
		if f.lesions {
			return nil, usageError{errors.New("--lesions analyses a photo; with --report the saved report's lesion section (if any) is used")}
		}
		if f.noGate {
			return nil, usageError{errors.New("--no-quality-gate applies when analysing a photo, not with --report")}
		}
		fh, err := os.Open(f.reportPath)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r, err := report.Decode(fh)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.reportPath, err)
		}
		return &subject{report: r}, nil
	}
	if f.size < 64 || f.size > 4096 {
		return nil, usageError{fmt.Errorf("--size %d: want 64..4096", f.size)}
	}
	if f.umPerPx < 0 || f.fovDegrees < 0 || f.fovDegrees > 200 {
		return nil, usageError{errors.New("--um-per-px and --fov-degrees must be positive (field of view at most 200 degrees)")}
	}
	img, err := loadInput(path, fundus.Limits{MaxPixels: int64(f.maxMP * 1e6)})
	if err != nil {
		return nil, err
	}
	an, err := f.rt.analyzer()
	if err != nil {
		return nil, err
	}
	defer an.Close()
	res, err := an.Analyze(cmd.Context(), img, analysis.Options{Size: f.size, UmPerPx: f.umPerPx, FOVDegrees: f.fovDegrees, Lesions: f.lesions, NoQualityGate: f.noGate})
	if err != nil {
		return nil, gateHint(err)
	}
	return &subject{report: res.Report, result: res, sample: path == "", image: img.Pix}, nil
}

func newAskCmd() *cobra.Command {
	var f subjectFlags
	var ef engineFlags
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "ask [IMAGE] QUESTION",
		Short: "Answer one question about a fundus photograph; without IMAGE, the bundled sample",
		Long: `Analyze a colour fundus photograph (as 'analyze' does) and answer one
question about it with the built-in grounded responder (or, with --engine,
an LLM that reads the analysis through tools): every number comes
from the analysis Report, with its unit, and a value the Report lacks is
reported as missing with the Report's reason, never guessed.

With --json it prints {question, intent, query, answer, grounded, missing}:
grounded lists each value the answer quotes with its path in the Report.
Without IMAGE it uses the bundled sample photograph; with --report it
answers from a saved Report instead of analysing a photo. A photo that is
not a colour fundus photograph is refused before any question is answered
(exit status 4); --no-quality-gate analyses it anyway.

With --engine ollama (Ollama's own API) or openai (any OpenAI-compatible
server at --base-url; the key comes from RETINALGPT_LLM_KEY or
OPENAI_API_KEY), the answer is streamed as it comes, and numbers in it that
no tool returned are listed as a warning on stderr ("ungrounded" in
--json); with --strict-grounding the built-in answer replaces such an
answer. --vision also sends the photo, for vision models. An engine
failure (unreachable, HTTP error, timeout) exits 1 with the reason.

Not a medical device: answers are measurements, not diagnoses.`,
		Example: `  retinalgpt ask "what is the vessel density?"
  retinalgpt ask photo.jpg "is the cup-to-disc ratio normal?" --json
  retinalgpt ask --report results/photo_report.json "and the CRAE?"
  retinalgpt ask photo.jpg "is the CDR normal?" --engine ollama --model llama3.1
  retinalgpt ask photo.jpg "CDR?" --engine openai --base-url http://127.0.0.1:8000/v1 --model NAME`,
		Args: checkArgs(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, question := "", args[len(args)-1]
			if len(args) == 2 {
				path = args[0]
			}
			return runAsk(cmd, f, ef, path, question, jsonOut)
		},
	}
	f.register(cmd)
	ef.register(cmd)
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the answer, its intent and grounded values as JSON")
	return cmd
}

// askJSON is ask's --json output.
type askJSON struct {
	Question string              `json:"question"`
	Intent   intent.Intent       `json:"intent"`
	Query    assistant.Query     `json:"query"`
	Answer   string              `json:"answer"`
	Grounded []assistant.Value   `json:"grounded"`
	Missing  []assistant.Missing `json:"missing,omitempty"`
	Report   string              `json:"report_id"`
	Engine   string              `json:"engine"`
	// Ungrounded are an LLM answer's numbers that no tool returned.
	Ungrounded []string `json:"ungrounded,omitempty"`
	Note       string   `json:"note,omitempty"`
}

func runAsk(cmd *cobra.Command, f subjectFlags, ef engineFlags, path, question string, jsonOut bool) error {
	eng, err := ef.newGuarded()
	if err != nil {
		return err
	}
	subj, err := f.load(cmd, path)
	if err != nil {
		return err
	}
	if err := ef.attachImage(eng, subj); err != nil {
		return err
	}
	stdout := cmd.OutOrStdout()
	if eng != nil && !jsonOut {
		eng.out = stdout // the LLM's text as it comes
	}
	s, err := assistant.NewSession(eng.engine(), subj.report)
	if err != nil {
		return err
	}
	a, err := s.Ask(cmd.Context(), question)
	if err != nil {
		return err
	}
	if a.Engine == "" {
		a.Engine = "builtin"
	}
	if jsonOut {
		if a.Grounded == nil {
			a.Grounded = []assistant.Value{}
		}
		return newJSONEncoder(stdout).Encode(askJSON{Question: question, Intent: a.Intent, Query: a.Query, Answer: a.Text,
			Grounded: a.Grounded, Missing: a.Missing, Report: subj.report.ID, Engine: a.Engine, Ungrounded: a.Ungrounded, Note: a.Note})
	}
	if eng == nil || !eng.wrote {
		fmt.Fprintln(stdout, a.Text)
	}
	printWarnings(cmd.ErrOrStderr(), a)
	if subj.sample {
		fmt.Fprintln(cmd.ErrOrStderr(), sample.Attribution)
	}
	return nil
}
