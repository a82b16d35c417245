package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/parley-chat/parley/internal/service"
)

// systemctlEnv names another systemctl program (tests, unusual systems).
const systemctlEnv = "PARLEY_SYSTEMCTL"

// serviceStatus is `parley service status --json`.
type serviceStatus struct {
	Unit          string `json:"unit"`      // the unit file's path
	Installed     bool   `json:"installed"` // the unit file exists
	Enabled       bool   `json:"enabled"`   // UnitFileState is enabled
	Active        bool   `json:"active"`    // ActiveState is active
	ActiveState   string `json:"active_state"`
	UnitFileState string `json:"unit_file_state"`
	Daemon        bool   `json:"daemon"`          // the home's daemon answers on its API
	Error         string `json:"error,omitempty"` // why systemd could not be asked
}

func (c *cli) serviceManager() (service.Manager, error) {
	dir, err := service.UnitDir(os.Getenv)
	if err != nil {
		return service.Manager{}, runtimeError{err}
	}
	return service.Manager{Dir: dir, Systemctl: os.Getenv(systemctlEnv)}, nil
}

// noManager explains a missing user manager in one line: what was (or
// was not) done, and how to finish by hand.
func noManager(err error, done, then string) error {
	return runtimeError{fmt.Errorf("%s, but %v: %s", done, err, then)}
}

func (c *cli) serviceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service install|uninstall|status",
		Short: "Run the daemon as a systemd user service (restarted on failure, started at login)",
		Args:  exactArgs(0, "a subcommand: install, uninstall or status"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{errors.New("service needs a subcommand: install, uninstall or status")}
		},
	}
	var force, noStart, asJSON bool
	install := &cobra.Command{
		Use:   "install [--force] [--no-start]",
		Short: "Write ~/.config/systemd/user/parley.service and enable and start it",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			m, err := c.serviceManager()
			if err != nil {
				return err
			}
			unit, err := c.unitText()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
			defer cancel()
			changed, err := m.Install(ctx, unit, force, !noStart)
			if errors.Is(err, service.ErrUnitDiffers) {
				return runtimeError{err}
			}
			state := "unchanged"
			if changed {
				state = "written"
			}
			if errors.Is(err, service.ErrNoUserManager) {
				return noManager(err, "unit "+m.Path()+" "+state, "in a login session of this user (or after 'loginctl enable-linger "+userName()+"'), run: systemctl --user daemon-reload && systemctl --user enable --now parley.service")
			}
			if err != nil {
				return runtimeError{fmt.Errorf("unit %s %s, but %w", m.Path(), state, err)}
			}
			_, _ = fmt.Fprintf(c.stdout, "unit %s %s\n", m.Path(), state)
			if noStart {
				_, _ = fmt.Fprintln(c.stdout, "not started (--no-start): systemctl --user daemon-reload && systemctl --user enable --now parley.service")
			} else {
				_, _ = fmt.Fprintln(c.stdout, "enabled and started: parley service status; logs: journalctl --user -u parley")
			}
			return nil
		},
	}
	install.Flags().BoolVar(&force, "force", false, "replace a different parley unit")
	install.Flags().BoolVar(&noStart, "no-start", false, "only write the unit file")
	uninstall := &cobra.Command{
		Use:   "uninstall",
		Short: "Stop and disable the service and remove its unit file",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			m, err := c.serviceManager()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.ctx, time.Minute)
			defer cancel()
			removed, err := m.Uninstall(ctx)
			if errors.Is(err, service.ErrNoUserManager) {
				return noManager(err, "unit "+m.Path()+" removed", "the service was not stopped: stop the daemon yourself, then run 'systemctl --user daemon-reload' in a login session")
			}
			if err != nil {
				return runtimeError{err}
			}
			if !removed {
				_, _ = fmt.Fprintf(c.stdout, "no unit at %s: nothing to do\n", m.Path())
				return nil
			}
			_, _ = fmt.Fprintf(c.stdout, "stopped, disabled and removed %s\n", m.Path())
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status [--json]",
		Short: "Whether the unit is installed, enabled and active, and whether the daemon answers",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			m, err := c.serviceManager()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
			defer cancel()
			st, serr := m.Status(ctx)
			out := serviceStatus{Unit: m.Path(), Installed: st.Installed, ActiveState: st.ActiveState, UnitFileState: st.UnitFileState,
				Enabled: st.UnitFileState == "enabled", Active: st.ActiveState == "active"}
			if serr != nil {
				out.Error = serr.Error()
			}
			if cl, err := c.client(); err == nil {
				_, err := cl.Identity(ctx)
				out.Daemon = err == nil
			}
			if asJSON {
				if err := c.writeJSON(out); err != nil {
					return err
				}
			} else {
				c.printServiceStatus(out)
			}
			if errors.Is(serr, service.ErrNoUserManager) {
				return runtimeError{fmt.Errorf("%v: run status in a login session of this user to see the service's state", serr)}
			}
			if serr != nil {
				return runtimeError{serr}
			}
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(install, uninstall, status)
	return cmd
}

func (c *cli) printServiceStatus(s serviceStatus) {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	_, _ = fmt.Fprintf(c.stdout, "unit:      %s (installed: %s)\n", s.Unit, yes(s.Installed))
	if s.Error == "" {
		_, _ = fmt.Fprintf(c.stdout, "enabled:   %s (%s)\nactive:    %s (%s)\n", yes(s.Enabled), orDash(s.UnitFileState), yes(s.Active), orDash(s.ActiveState))
	}
	_, _ = fmt.Fprintf(c.stdout, "daemon:    %s\n", map[bool]string{true: "answers on its API", false: "not answering"}[s.Daemon])
}

// unitText is the unit for this binary and this node's home.
func (c *cli) unitText() (string, error) {
	bin, err := os.Executable()
	if err != nil {
		return "", runtimeError{fmt.Errorf("find this program's path: %w", err)}
	}
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	args := []string{"daemon"}
	if c.home != "" || os.Getenv("PARLEY_HOME") != "" {
		p, err := c.paths()
		if err != nil {
			return "", err
		}
		args = append(args, "--home", p.Data)
	}
	return service.Unit(bin, args), nil
}

func userName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "$USER"
}
