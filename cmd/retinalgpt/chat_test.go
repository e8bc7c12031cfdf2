package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chzyer/readline"

	"github.com/retinalgpt/retinalgpt/internal/report"
)

// Without ONNX Runtime: a piped conversation over a saved Report, with a
// follow-up and the commands.
func TestChatSavedReportPiped(t *testing.T) {
	in := "what is the vessel density?\nand in zone B?\n/help\n/report\n/overlay\n/bogus\n/quit\nnever read\n"
	stdout, stderr, code := runIn(t, in, "chat", "--report", savedReport)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"> what is the vessel density?", "0.0642", "> and in zone B?", "0.0667", "Commands:",
		"cup-to-disc    vertical 0.36", "No overlay", "Unknown command /bogus"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("transcript lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "never read") {
		t.Errorf("input after /quit was read:\n%s", stdout)
	}
}

// chat on the bundled sample over piped stdin: follow-ups resolve and the
// overlay is written.
func TestChatSamplePiped(t *testing.T) {
	requireORT(t)
	dir := t.TempDir()
	in := "what's the vessel density?\nand in zone B?\nis that bad?\n/overlay\n"
	stdout, stderr, code := runIn(t, in, "chat", "--threads", "2", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "idrid_055_report.json"))
	if err != nil {
		t.Fatalf("/overlay wrote no report: %v\n%s", err, stdout)
	}
	r, err := report.Decode(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "idrid_055_overlay.png")); err != nil {
		t.Errorf("no overlay PNG: %v", err)
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	var zoneB float64
	for _, z := range r.Vessels.Zones {
		if z.Zone == "B" {
			zoneB = z.Density
		}
	}
	for _, want := range []string{f(r.Vessels.DensityFOV), "zone B", f(zoneB), "not a diagnosis", "idrid_055_overlay.png"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("transcript lacks %q:\n%s", want, stdout)
		}
	}
}

// On a terminal chat reads through readline: the up arrow recalls the
// previous question; Ctrl-D ends the chat.
func TestChatReadlineHistory(t *testing.T) {
	in := io.NopCloser(strings.NewReader("what is the CDR?\r\x1b[A\r\x04"))
	var out bytes.Buffer
	nop := func() error { return nil }
	rl, err := newReadline(in, &out, &readline.Config{FuncIsTerminal: func() bool { return true }, FuncMakeRaw: nop, FuncExitRaw: nop,
		FuncGetWidth: func() int { return 80 }, FuncOnWidthChanged: func(func()) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	var got []string
	for {
		line, err := rl.Line()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, line)
	}
	if strings.Join(got, "|") != "what is the CDR?|what is the CDR?" {
		t.Errorf("lines %q", got)
	}
}
