package commands

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/registry"
)

func init() {
	register(loginCommand, logoutCommand)
}

func loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "authenticate to a registry (Docker Hub when no server is named)",
		ArgsUsage: "[SERVER]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "username"},
			&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: `password or personal access token, or "-" to read from stdin`},
			&cli.BoolFlag{Name: "password-stdin", Usage: "take the password or personal access token from stdin"},
		},
		Action: runLogin,
	}
}

func logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "log out from a registry (Docker Hub when no server is named)",
		ArgsUsage: "[SERVER]",
		Action:    runLogout,
	}
}

// loginFlags are docker's checks of login's flags, in its words.
func loginFlags(c *cli.Context) (user, password string, stdin bool, err error) {
	user, password = c.String("username"), c.String("password")
	stdin = c.Bool("password-stdin") || password == "-"
	if stdin {
		if c.IsSet("password") && password != "-" {
			return "", "", false, errors.New("conflicting options: cannot specify both --password and --password-stdin")
		}
		if !c.IsSet("username") {
			return "", "", false, errors.New("the --password-stdin option requires --username to be set")
		}
		password = ""
	}
	if c.IsSet("username") && user == "" {
		return "", "", false, errors.New("username is empty")
	}
	if c.IsSet("password") && c.String("password") == "" {
		return "", "", false, errors.New("password is empty")
	}
	return user, password, stdin, nil
}

func runLogin(c *cli.Context) error {
	if c.NArg() > 1 {
		return &ExitError{1, fmt.Errorf("\"login\" requires at most 1 argument (usage: skiff login [OPTIONS] [SERVER])")}
	}
	user, password, stdin, err := loginFlags(c)
	if err != nil {
		return &ExitError{1, err}
	}
	if password != "" {
		fmt.Fprintln(os.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	if stdin {
		if password, err = readSecret(os.Stdin); err != nil {
			return &ExitError{1, err}
		}
		if strings.TrimSpace(password) == "" {
			return &ExitError{1, errors.New("password is empty")}
		}
	}
	server := c.Args().First()
	g, err := globals(c)
	if err != nil {
		return &ExitError{1, err}
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if user == "" && password == "" {
		if done, err := loginStored(c, server, g.InsecureRegistries); done || err != nil {
			return err
		}
	}
	if user == "" || password == "" {
		if user, password, err = promptCredentials(user, password, server); err != nil {
			return &ExitError{1, err}
		}
	}
	if err := registry.CheckLogin(ctx, server, user, password, g.InsecureRegistries); err != nil {
		return &ExitError{1, err}
	}
	if err := registry.StoreCredentials(server, user, password); err != nil {
		return &ExitError{1, err}
	}
	fmt.Println("Login Succeeded")
	return nil
}

// loginStored is docker's login without credentials when some are stored:
// they are checked again, and prompting follows only if they fail.
func loginStored(c *cli.Context, server string, insecure []string) (bool, error) {
	user, password, err := registry.StoredCredentials(server)
	if err != nil || user == "" || password == "" {
		return false, nil
	}
	fmt.Fprintf(os.Stderr, "Authenticating with existing credentials... [Username: %s]\n", user)
	if err := registry.CheckLogin(c.Context, server, user, password, insecure); err != nil {
		fmt.Fprintln(os.Stderr, "Stored credentials invalid or expired")
		return false, nil
	}
	fmt.Println("Login Succeeded")
	return true, nil
}

// readSecret is the password from stdin without its final line end.
func readSecret(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	for _, eol := range []string{"\r\n", "\n", "\r"} {
		var ok bool
		if b, ok = bytes.CutSuffix(b, []byte(eol)); ok {
			break
		}
	}
	return string(b), nil
}

// promptCredentials asks for what the flags did not give, on a terminal
// only, the password without echo, as docker.
func promptCredentials(user, password, server string) (string, string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", "", errors.New("error: cannot perform an interactive login from a non-TTY device")
	}
	if user == "" {
		fmt.Fprint(os.Stderr, "Username: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", "", fmt.Errorf("read username: %w", err)
		}
		if user = strings.TrimSpace(line); user == "" {
			return "", "", errors.New("error: username is required")
		}
	}
	if password == "" {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", "", fmt.Errorf("read password: %w", err)
		}
		if password = string(b); password == "" {
			return "", "", errors.New("error: password is required")
		}
	}
	return user, password, nil
}

func runLogout(c *cli.Context) error {
	if c.NArg() > 1 {
		return &ExitError{1, fmt.Errorf("\"logout\" requires at most 1 argument (usage: skiff logout [SERVER])")}
	}
	server := c.Args().First()
	key := registry.CredentialKey(server)
	fmt.Println("Removing login credentials for", key)
	if err := registry.EraseCredentials(server); err != nil {
		fmt.Fprintln(os.Stderr, "WARNING:", err)
	}
	return nil
}
