package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/internal/infer"
	"github.com/retinalgpt/retinalgpt/internal/report"
	"github.com/retinalgpt/retinalgpt/models"
)

func newVersionCmd() *cobra.Command {
	var rt runtimeFlags
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the software, report schema, model and ONNX Runtime versions",
		Args:  checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "retinalgpt %s (%s %s/%s)\n", softwareVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(w, "report schema %s\n", report.SchemaVersion)
			m, err := models.Vessels()
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "model %s %s sha256:%s\n", m.Meta.Name, m.Meta.Version, m.SHA256[:16])
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
