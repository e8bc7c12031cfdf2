package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

const savedReport = "../../internal/assistant/testdata/sample_report.json"

// runIn executes the CLI in-process with stdin.
func runIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil {
		errb.WriteString("retinalgpt: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCode(err)
}

type askOut struct {
	Intent   string `json:"intent"`
	Answer   string `json:"answer"`
	Grounded []struct {
		Path  string `json:"path"`
		Value any    `json:"value"`
	} `json:"grounded"`
}

// Without ONNX Runtime: ask answers from a saved Report.
func TestAskSavedReport(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ask", "--report", savedReport, "what's the cup to disc ratio?"}, 0, "0.359"},
		{[]string{"ask", "--report", savedReport, "where is the fovea"}, 0, "479.5"},
		{[]string{"ask", "--report", savedReport, "photo.jpg", "hi"}, exitUsage, "not both"},
		{[]string{"ask"}, exitUsage, "arg"},
		{[]string{"ask", "--report", "/nonexistent/report.json", "hi"}, exitFailure, "no such file"},
	}
	for _, tt := range tests {
		stdout, stderr, code := run(t, tt.args...)
		if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s%s", tt.args, code, tt.code, tt.want, stdout, stderr)
		}
	}
	stdout, stderr, code := run(t, "ask", "--report", savedReport, "--json", "how dense are the vesels")
	var a askOut
	if err := json.Unmarshal([]byte(stdout), &a); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s%s", code, err, stdout, stderr)
	}
	if a.Intent != "vessels" || len(a.Grounded) != 1 || a.Grounded[0].Path != "vessels.density_fov" || a.Grounded[0].Value != 0.0642 {
		t.Errorf("--json: %+v", a)
	}
}

// ask on the bundled sample: the vessel-density answer carries the
// Report's own number.
func TestAskSampleVesselDensity(t *testing.T) {
	requireORT(t)
	stdout, stderr, code := run(t, "analyze", "--no-files", "--json", "--threads", "2")
	r, err := report.Decode(strings.NewReader(stdout))
	if code != 0 || err != nil {
		t.Fatalf("analyze: exit %d, %v: %s", code, err, stderr)
	}
	stdout, stderr, code = run(t, "ask", "--json", "--threads", "2", "what is the vessel density?")
	var a askOut
	if err := json.Unmarshal([]byte(stdout), &a); code != 0 || err != nil {
		t.Fatalf("ask: exit %d, %v: %s%s", code, err, stdout, stderr)
	}
	want := strconv.FormatFloat(r.Vessels.DensityFOV, 'f', -1, 64)
	if !strings.Contains(a.Answer, want) {
		t.Errorf("answer lacks the report's density %s: %s", want, a.Answer)
	}
	if len(a.Grounded) == 0 || a.Grounded[0].Path != "vessels.density_fov" || a.Grounded[0].Value != r.Vessels.DensityFOV {
		t.Errorf("grounded %+v, want vessels.density_fov = %v", a.Grounded, r.Vessels.DensityFOV)
	}
}
