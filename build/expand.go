package build

// Variable expansion of an instruction's words as docker's builders do
// it: BuildKit's shell lexer on the instructions that take it, with the
// ENV and ARG values in force at that step.

import (
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Expand expands cmd's words in place with the stage's environment
// (KEY=VALUE, ENV and ARG values in force at that step) as docker does
// (BuildKit's shell.Lex, the file's escape token). Instructions docker
// does not expand (RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD) are
// left alone; EXPOSE is the one whose word may become several ports.
func Expand(cmd instructions.Command, env []string, escape rune) error {
	lex := shell.NewLex(escape)
	envs := shell.EnvsFromSlice(env)
	word := func(w string) (string, error) {
		s, _, err := lex.ProcessWord(w, envs)
		return s, err
	}
	var err error
	switch c := cmd.(type) {
	case *instructions.ExposeCommand:
		err = expandPorts(c, lex, envs)
	case *FromCommand:
		err = expandFrom(c, word)
	case instructions.SupportsSingleWordExpansion:
		err = c.Expand(word)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.Name(), err)
	}
	// Heredoc bodies of COPY/ADD (<<EOF without quotes) expand too, with
	// quotes kept as written.
	if raw, ok := cmd.(instructions.SupportsSingleWordExpansionRaw); ok {
		rawLex := shell.NewLex(escape)
		rawLex.SkipProcessQuotes = true
		err := raw.ExpandRaw(func(w string) (string, error) {
			s, _, err := rawLex.ProcessWord(w, envs)
			return s, err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", cmd.Name(), err)
		}
	}
	return nil
}

// expandPorts: `EXPOSE $PORTS` with PORTS="80 443" exposes two ports,
// the only instruction where one word becomes several.
func expandPorts(c *instructions.ExposeCommand, lex *shell.Lex, envs shell.EnvGetter) error {
	var ports []string
	for _, p := range c.Ports {
		words, err := lex.ProcessWords(p, envs)
		if err != nil {
			return err
		}
		ports = append(ports, words...)
	}
	c.Ports = ports
	return nil
}

func expandFrom(c *FromCommand, word func(string) (string, error)) error {
	var err error
	if c.BaseName, err = word(c.BaseName); err != nil {
		return err
	}
	c.Platform, err = word(c.Platform)
	return err
}
