package session

import (
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

// applyServer makes the server match the settings.
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
		s.mu.Lock()
		s.serverURL = ""
		s.mu.Unlock()
	}
	if !set.ServerEnabled {
		return nil
	}
	url, err := s.cfg.Server.Start(set.ServerPort)
	if err != nil {
		return &engine.Error{Code: engine.CodeIO, Params: map[string]any{"port": set.ServerPort},
			Msg: "could not start the API server", Err: err}
	}
	s.mu.Lock()
	s.serverURL = url
	s.mu.Unlock()
	return nil
}
