package session

import (
	"errors"
	"fmt"

	"github.com/bitnet-desktop/bitnet-desktop/internal/apiserver"

	"github.com/bitnet-desktop/bitnet-desktop/engine"
	"github.com/bitnet-desktop/bitnet-desktop/internal/settings"
)

// GetSettings returns the settings.
func (s *Session) GetSettings() settings.Settings { return s.settings.Get() }

// DefaultSystemPrompt returns the default system prompt in "en" or "es".
func (s *Session) DefaultSystemPrompt(lang string) string { return settings.DefaultSystemPrompt(lang) }

// SaveSettings clamps, validates and stores the settings, then starts,
// stops or moves the API server if its settings changed. Sampling
// settings apply to the next answer; threads apply at the next load.
func (s *Session) SaveSettings(in settings.Settings) error {
	old := s.settings.Get()
	saved, err := s.settings.Save(in)
	if err != nil {
		return err
	}
	var serverErr error
	if saved.ServerEnabled != old.ServerEnabled || (saved.ServerEnabled && saved.ServerPort != old.ServerPort) {
		serverErr = s.applyServer(saved)
	}
	s.states.Trigger(true)
	return serverErr
}

func (s *Session) serverRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serverURL != ""
}

// applyServer makes the server match the settings. A failure to start is
// also kept for AppState.ServerError until the next attempt.
func (s *Session) applyServer(set settings.Settings) error {
	if s.cfg.Server == nil {
		return nil
	}
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.serverRunning() {
		if err := s.cfg.Server.Stop(); err != nil {
			s.log.Warn("stop the API server", "err", err)
		}
	}
	s.setServer("", nil)
	if !set.ServerEnabled {
		return nil
	}
	url, err := s.cfg.Server.Start(set.ServerPort)
	if err != nil {
		e := serverError(set.ServerPort, err)
		s.setServer("", e)
		return e
	}
	s.setServer(url, nil)
	return nil
}

func (s *Session) setServer(url string, err *engine.Error) {
	s.mu.Lock()
	s.serverURL, s.serverErr = url, err
	s.mu.Unlock()
}

// serverError is the error of a server that could not start on port.
func serverError(port int, err error) *engine.Error {
	var busy *apiserver.PortInUseError
	if errors.As(err, &busy) {
		return &engine.Error{Code: CodePortInUse, Params: map[string]any{"port": port, "suggestedPort": busy.Suggested},
			Msg: fmt.Sprintf("port %d is in use by another program", port), Err: err}
	}
	return &engine.Error{Code: engine.CodeIO, Params: map[string]any{"port": port},
		Msg: "could not start the API server", Err: err}
}
