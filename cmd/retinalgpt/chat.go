package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"

	"github.com/retinalgpt/retinalgpt/assets/sample"
	"github.com/retinalgpt/retinalgpt/internal/assistant"
)

func newChatCmd() *cobra.Command {
	var f subjectFlags
	var ef engineFlags
	var out string
	cmd := &cobra.Command{
		Use:   "chat [IMAGE]",
		Short: "Talk about a fundus photograph; without IMAGE, the bundled sample",
		Long: `Analyze a colour fundus photograph (as 'analyze' does) and start a
conversation about it with the built-in grounded responder, or with an LLM
(--engine ollama|openai) that reads the analysis through tools; numbers in
an LLM answer that no tool returned are flagged. When the LLM fails, the
session goes on and the built-in responder answers that turn. Follow-ups
resolve against the conversation: "and the veins?", "what about zone B?",
"is that bad?", "where exactly?", "what does that mean?".

Commands: /help, /report (the analysis summary), /overlay (write the
overlay PNG, and the report JSON, into --out and print their paths),
/quit. A photo that is not a colour fundus photograph is refused before
the conversation starts (exit status 4; --no-quality-gate analyses it
anyway). On a terminal, lines can be edited and earlier questions recalled
with the up arrow (this session's history only, never saved to disk); piped
input is read a line at a time, so a conversation can be piped in. An LLM's
answer is printed as it arrives.

Not a medical device: answers are measurements, not diagnoses.`,
		Example: `  retinalgpt chat
  retinalgpt chat photo.jpg --um-per-px 6.5
  printf 'what is the CDR?\nis that bad?\n' | retinalgpt chat
  retinalgpt chat photo.jpg --engine ollama --model llama3.1
  retinalgpt chat photo.jpg --engine openai --base-url http://127.0.0.1:8000/v1 --model NAME --vision`,
		Args: checkArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			}
			return runChat(cmd, f, ef, path, out)
		},
	}
	f.register(cmd)
	ef.register(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", ".", "folder for /overlay's files")
	return cmd
}

const chatCommands = "Commands: /help (this), /report (the analysis summary), /overlay (write the overlay PNG), /quit (or Ctrl-D)."

func runChat(cmd *cobra.Command, f subjectFlags, ef engineFlags, path, out string) error {
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
	if eng != nil {
		eng.out = stdout // the LLM's text as it comes
	}
	s, err := assistant.NewSession(eng.engine(), subj.report)
	if err != nil {
		return err
	}
	in := cmd.InOrStdin()
	interactive := isTerminal(in)
	r := subj.report
	fmt.Fprintf(stdout, "Analysed %s (%dx%d). Ask about the optic disc, the vessels, the landmarks, or what a term means.\n%s\n",
		r.Image.File, r.Image.Width, r.Image.Height, chatCommands)
	if subj.sample {
		fmt.Fprintln(stdout, sample.Attribution)
	}
	var lines lineReader
	if interactive {
		rl, err := newReadline(readline.NewCancelableStdin(in), stdout, nil)
		if err != nil {
			return err
		}
		lines = rl
	} else {
		lines = newScanLines(in)
	}
	defer lines.Close()
	for {
		if interactive {
			fmt.Fprintln(stdout)
		}
		line, err := lines.Line()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !interactive {
			fmt.Fprintf(stdout, "\n> %s\n", line)
		}
		if strings.HasPrefix(line, "/") {
			if quit := chatCommand(stdout, line, subj, out); quit {
				return nil
			}
			continue
		}
		a, err := s.Ask(cmd.Context(), line)
		streamed := eng != nil && eng.wrote
		if err != nil && eng != nil && cmd.Context().Err() == nil {
			// The LLM failed: keep the session, answer this turn with the
			// built-in responder and say so.
			fmt.Fprintf(stdout, "(the %s engine failed: %v; the built-in responder answers)\n", ef.engine, err)
			s.Engine = assistant.NewBuiltin(nil)
			a, err = s.Ask(cmd.Context(), line)
			s.Engine = eng
			streamed = false
		}
		if err != nil {
			return err
		}
		if !streamed {
			fmt.Fprintln(stdout, a.Text)
		}
		printWarnings(stdout, a)
	}
	return cmd.Context().Err()
}

// lineReader gives chat one line of input at a time; io.EOF ends the chat.
type lineReader interface {
	Line() (string, error)
	Close() error
}

// scanLines reads piped input.
type scanLines struct{ sc *bufio.Scanner }

func newScanLines(r io.Reader) *scanLines {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return &scanLines{sc}
}

func (s *scanLines) Line() (string, error) {
	if s.sc.Scan() {
		return s.sc.Text(), nil
	}
	if err := s.sc.Err(); err != nil {
		return "", fmt.Errorf("read input: %w", err)
	}
	return "", io.EOF
}

func (s *scanLines) Close() error { return nil }

// rlLines reads a terminal with line editing and this session's history
// (up and down arrows, Ctrl-R search); the history is not saved to disk.
// Ctrl-D, or Ctrl-C on an empty line, ends the chat.
type rlLines struct{ rl *readline.Instance }

// newReadline makes the terminal reader; cfg, when not nil, is the base
// configuration (tests fake the terminal with it).
func newReadline(in io.ReadCloser, out io.Writer, cfg *readline.Config) (*rlLines, error) {
	if cfg == nil {
		cfg = &readline.Config{}
	}
	cfg.Prompt = "> "
	cfg.Stdin = in
	cfg.Stdout = out
	cfg.HistoryLimit = 1000
	cfg.HistorySearchFold = true
	rl, err := readline.NewEx(cfg)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return &rlLines{rl}, nil
}

func (r *rlLines) Line() (string, error) {
	for {
		line, err := r.rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			if strings.TrimSpace(line) == "" {
				return "", io.EOF
			}
			continue
		}
		return line, err
	}
}

func (r *rlLines) Close() error { return r.rl.Close() }

// chatCommand runs a slash command; it reports whether to quit.
func chatCommand(w io.Writer, line string, subj *subject, out string) bool {
	switch strings.Fields(line)[0] {
	case "/quit", "/exit", "/q":
		return true
	case "/help", "/?":
		fmt.Fprintln(w, chatCommands)
		fmt.Fprintln(w, "Ask, for example: “what is the cup-to-disc ratio?”, “how tortuous are the vessels in zone B?”, “which eye is this?”, “what should I do next?”.")
	case "/report":
		printSummary(w, subj.report, nil)
	case "/overlay":
		if subj.result == nil {
			fmt.Fprintln(w, "No overlay: this conversation is about a saved report (--report), not a photo analysed now.")
			break
		}
		if err := checkOutDir(out); err != nil {
			fmt.Fprintln(w, "Could not write the overlay:", err)
			break
		}
		written, err := writeOutputs(out, "", subj.result)
		if err != nil {
			fmt.Fprintln(w, "Could not write the overlay:", err)
			break
		}
		fmt.Fprintf(w, "Wrote %s\n", strings.Join(written, ", "))
	default:
		fmt.Fprintf(w, "Unknown command %s. %s\n", line, chatCommands)
	}
	return false
}

// isTerminal reports whether r is an interactive terminal (a character
// device), so prompts are shown; piped input is echoed instead.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
