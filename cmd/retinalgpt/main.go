// Command retinalgpt analyzes colour fundus photographs: vessels, field of
// view and calibration today; see `retinalgpt help`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/analysis"
	"github.com/retinalgpt/retinalgpt/internal/fundus"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/quality"
)

// version is set at link time (-ldflags "-X main.version=1.2.3"); otherwise
// it comes from the module build info.
var version = ""

func softwareVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v := bi.Main.Version
		if v == "" || v == "(devel)" {
			v = "dev"
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return v + "+" + s.Value[:12]
			}
		}
		return v
	}
	return "dev"
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "retinalgpt:", err)
	}
	os.Exit(exitCode(err))
}

// Exit codes, mapped from errors in this one place.
const (
	exitOK         = 0
	exitFailure    = 1
	exitUsage      = 2
	exitBadImage   = 3 // empty, corrupt, truncated, unsupported or too large
	exitNotFundus  = 4 // refused by the quality gate, or no field of view: not a colour fundus photograph
	exitNoRuntime  = 5 // ONNX Runtime missing
	exitInterrupts = 130
)

type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &u):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupts
	case errors.Is(err, infer.ErrRuntimeMissing):
		return exitNoRuntime
	case errors.Is(err, quality.ErrNotFundus), errors.Is(err, fundus.ErrNoFOV):
		return exitNotFundus
	case errors.Is(err, fundus.ErrEmpty), errors.Is(err, fundus.ErrCorrupt),
		errors.Is(err, fundus.ErrUnsupported), errors.Is(err, fundus.ErrTooLarge):
		return exitBadImage
	}
	return exitFailure
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:   "retinalgpt",
		Short: "Quantitative analysis of colour fundus photographs",
		Long: `RetinalGPT measures colour fundus (retina) photographs on an ordinary CPU
and talks about what it measured: image quality, field of view and
calibration, retinal vessels and their biomarkers (widths, tortuosity,
fractal dimension, CRAE/CRVE/AVR, arteries and veins), the optic disc and
cup, the fovea and laterality, lesions with boxes, and experimental DR,
DME, glaucoma and cataract judgements. Each number comes with its unit and
provenance in a versioned JSON report.

Start with "retinalgpt analyze" (the bundled sample photo) or
"retinalgpt chat".

Not a medical device: results are for research and must be reviewed by a
qualified clinician.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       softwareVersion(),
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log details to stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newAnalyzeCmd(), newBiomarkersCmd(), newEvalCmd(), newVersionCmd(), newAskCmd(), newChatCmd(), newServeCmd(), newDatasetCmd())
	return root
}

// runtimeFlags are shared by every command that runs models.
type runtimeFlags struct {
	lib       string
	threads   int
	lowMemory bool
}

func (f *runtimeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.lib, "onnxruntime-lib", "", "path to libonnxruntime.so (default: $ONNXRUNTIME_LIB, then the cache filled by "+infer.FetchCommand+")")
	cmd.Flags().IntVar(&f.threads, "threads", 0, "CPU threads per model run (default: all CPUs)")
	cmd.Flags().BoolVar(&f.lowMemory, "low-memory", false, "run ONNX Runtime without its memory arena: about 40% less peak memory, about 15% more CPU time per photo")
}

func (f *runtimeFlags) config() infer.Config {
	return infer.Config{LibraryPath: f.lib, Threads: f.threads, LowMemory: f.lowMemory}
}

// openSession loads ONNX Runtime as the flags say and one model on it
// (open makes the session: vessels.NewAV, lesions.New, …); closeAll
// releases both. For the eval commands that need one model, not the
// whole analysis.
func openSession[S interface{ Close() error }](f *runtimeFlags, open func(*infer.Runtime) (S, error)) (s S, closeAll func(), err error) {
	rt, err := infer.Open(f.config())
	if err != nil {
		return s, nil, err
	}
	if s, err = open(rt); err != nil {
		rt.Close()
		return s, nil, err
	}
	return s, func() { s.Close(); rt.Close() }, nil
}

// analyzer loads ONNX Runtime and every model as these flags say.
func (f *runtimeFlags) analyzer() (*analysis.Analyzer, error) {
	return analysis.New(analysis.Config{Runtime: f.config(), Version: softwareVersion()})
}

// noGateFlagHelp is --no-quality-gate's help, the same for analyze, ask
// and chat.
const noGateFlagHelp = "analyse photos that the quality gate finds are not colour fundus photographs (for research on odd images; the report says so); a photo without a circular field of view is still refused"

// gateHint adds, to a quality-gate refusal that the flag could lift, how
// to lift it.
func gateHint(err error) error {
	if nf, ok := analysis.IsNotFundus(err); ok && nf.NoFOV == nil {
		return fmt.Errorf("%w (to analyse it anyway: --no-quality-gate)", err)
	}
	return err
}

// newJSONEncoder writes indented JSON, the form every --json output takes.
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}

// checkArgs wraps cobra's argument validators as usage errors.
func checkArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
