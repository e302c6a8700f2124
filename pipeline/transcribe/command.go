package transcribe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"codeberg.org/atelier/atelier/pipeline/subtitle"
	"github.com/asticode/go-astisub"
)

// Command runs an external transcriber, for example a small script around whisper.cpp.
//
// The contract: the program is started with Argv (no shell: ATELIER_TRANSCRIBE_CMD is split on
// spaces, there is no quoting), followed by the path of the 16 kHz mono WAV file as the last
// argument. Its environment is Atelier's plus
//
//	ATELIER_TRANSCRIBE_OUTPUT  the path where it writes the result, SRT or WebVTT
//	ATELIER_TRANSCRIBE_LANG    the BCP 47 language of the speech ("fr", "en", "pt-BR")
//
// If it leaves ATELIER_TRANSCRIBE_OUTPUT empty or absent, what it printed on stdout is taken
// instead. The result goes through subtitle.Parse, the same checks as an upload. A non-zero exit
// is a failure, reported with the tail of its stderr.
type Command struct {
	Argv []string
}

var _ Transcriber = (*Command)(nil)

// NewCommand splits spec (ATELIER_TRANSCRIBE_CMD) into a program and its arguments.
func NewCommand(spec string) (*Command, error) {
	argv := strings.Fields(spec)
	if len(argv) == 0 {
		return nil, errors.New("transcribe: the command backend needs ATELIER_TRANSCRIBE_CMD (a program and its arguments)")
	}
	return &Command{Argv: argv}, nil
}

// Transcribe implements Transcriber.
func (c *Command) Transcribe(ctx context.Context, audioWAV, lang string) (*astisub.Subtitles, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("transcribe: command: no program configured")
	}
	dir, err := os.MkdirTemp("", "atelier-transcribe-")
	if err != nil {
		return nil, fmt.Errorf("transcribe: command: %w", err)
	}
	defer os.RemoveAll(dir)
	outPath := filepath.Join(dir, "captions")
	env := append(os.Environ(), "ATELIER_TRANSCRIBE_OUTPUT="+outPath, "ATELIER_TRANSCRIBE_LANG="+lang)
	args := append(c.Argv[1:len(c.Argv):len(c.Argv)], audioWAV)
	stdout, err := run(ctx, c.Argv[0], args, env)
	if err != nil {
		return nil, fmt.Errorf("transcribe: command: %w", err)
	}
	data, err := os.ReadFile(outPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("transcribe: command: read output: %w", err)
	}
	if len(data) == 0 {
		data = stdout
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("transcribe: command %s wrote nothing: %w", filepath.Base(c.Argv[0]), ErrNoSpeech)
	}
	subs, err := subtitle.Parse(data, "")
	if err != nil {
		return nil, fmt.Errorf("transcribe: command %s output: %w", filepath.Base(c.Argv[0]), err)
	}
	return subs, nil
}
