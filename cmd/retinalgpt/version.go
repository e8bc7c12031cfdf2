package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/diagnose"
	"github.com/retinalgpt/retinalgpt/internal/disc"
	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/lesions"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/models"
)

func newVersionCmd() *cobra.Command {
	var rt runtimeFlags
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the software, report schema, model and ONNX Runtime versions",
		Long: `Print the software version, the report schema version, every embedded
model (vessels, av, disc, disccup, diagnose, lesions) with its version and the first
16 hex digits of its ONNX file's SHA-256 (as in a report's models list),
and the ONNX Runtime found.`,
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "retinalgpt %s (%s %s/%s)\n", softwareVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "report schema %s\n", report.SchemaVersion)
			ms, err := embeddedModels()
			if err != nil {
				return err
			}
			for _, m := range ms {
				fmt.Fprintf(w, "model %-8s %s sha256:%s\n", m.name, m.version, m.sha256[:16])
			}
			r, err := infer.Open(rt.config())
			if err != nil {
				fmt.Fprintf(w, "onnxruntime: not available: %v\n", err)
				return nil
			}
			defer r.Close()
			fmt.Fprintf(w, "onnxruntime %s (%s)\n", r.Version(), r.Library())
			return nil
		},
	}
	rt.register(cmd)
	return cmd
}

type modelID struct{ name, version, sha256 string }

// embeddedModels names every model built into the binary, in the order the
// analysis runs them, except lesions, listed last because it runs only
// with --lesions (before diagnose, which uses its findings).
func embeddedModels() ([]modelID, error) {
	var out []modelID
	for _, load := range []func() (models.Model, error){models.Vessels, models.AV} {
		m, err := load()
		if err != nil {
			return nil, err
		}
		out = append(out, modelID{m.Meta.Name, m.Meta.Version, m.SHA256})
	}
	dm, err := disc.ParseModel(models.DiscFiles())
	if err != nil {
		return nil, err
	}
	out = append(out, modelID{"disc", dm.Version, sha256Hex(dm.ONNX)})
	cm, err := disc.ParseCupModel(models.DiscCupFiles())
	if err != nil {
		return nil, err
	}
	out = append(out, modelID{cm.Name, cm.Version, sha256Hex(cm.ONNX)})
	gm, err := diagnose.ParseModel(models.DiagnoseFiles())
	if err != nil {
		return nil, err
	}
	out = append(out, modelID{gm.Name, gm.Version, sha256Hex(gm.ONNX)})
	lm, err := lesions.ParseModel(models.LesionsFiles())
	if err != nil {
		return nil, err
	}
	out = append(out, modelID{lm.Name, lm.Version, lm.SHA256})
	return out, nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
