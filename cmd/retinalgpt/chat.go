package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

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
anyway). Input is read a line at a time, so a conversation can be piped in.
Line editing is the terminal's own (no history recall yet).

Not a medical device: answers are measurements, not diagnoses.`,
		Example: `  retinalgpt chat
  retinalgpt chat photo.jpg --um-per-px 6.5
  printf 'what is the CDR?\nis that bad?\n' | retinalgpt chat
  retinalgpt chat photo.jpg --engine ollama --llm-model llama3.1`,
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
	eng, err := ef.newEngine()
	if err != nil {
		return err
	}
	subj, err := f.load(cmd, path)
	if err != nil {
		return err
	}
	s, err := assistant.NewSession(eng, subj.report)
	if err != nil {
		return err
	}
	stdout := cmd.OutOrStdout()
	in := cmd.InOrStdin()
	interactive := isTerminal(in)
	r := subj.report
	fmt.Fprintf(stdout, "Analysed %s (%dx%d). Ask about the optic disc, the vessels, the landmarks, or what a term means.\n%s\n",
		r.Image.File, r.Image.Width, r.Image.Height, chatCommands)
	if subj.sample {
		fmt.Fprintln(stdout, sample.Attribution)
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		if interactive {
			fmt.Fprint(stdout, "\n> ")
		}
		if !sc.Scan() {
			break
		}
		line := strings.TrimSpace(sc.Text())
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
		if err != nil && eng != nil && cmd.Context().Err() == nil {
			// The LLM failed: keep the session, answer this turn with the
			// built-in responder and say so.
			fmt.Fprintf(stdout, "(the %s engine failed: %v; the built-in responder answers)\n", ef.engine, err)
			s.Engine = assistant.NewBuiltin(nil)
			a, err = s.Ask(cmd.Context(), line)
			s.Engine = eng
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, a.Text)
		printWarnings(stdout, a)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read input: %w", err)
	}
	return cmd.Context().Err()
}

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
		written, err := writeOutputs(out, subj.result)
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
