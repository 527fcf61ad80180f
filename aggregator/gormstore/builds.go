package gormstore

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/pony-build/pony/aggregator"
)

// CreateToken stores a token: its id, the hash of its secret, its package
// and scope. A second token with the same id or hash is a conflict.
func (s *Store) CreateToken(ctx context.Context, t aggregator.Token) error {
	row := apiTokenRow{ID: t.ID, Hash: t.Hash, Package: t.Package, Scope: string(t.Scope), Name: t.Name, Created: msUTC(t.Created)}
	if err := s.w.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return aggregator.Errorf(aggregator.EConflict, "a token with id %s already exists", t.ID)
		}
		return storeErr("create token", err)
	}
	return nil
}

// TokenByHash finds a token by the hex SHA-256 of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash string) (aggregator.Token, error) {
	var row apiTokenRow
	if err := s.r.WithContext(ctx).Where("hash = ?", hash).Take(&row).Error; err != nil {
		return aggregator.Token{}, storeErr("find token", err)
	}
	return aggregator.Token{ID: row.ID, Hash: row.Hash, Package: row.Package, Scope: aggregator.Scope(row.Scope), Name: row.Name, Created: row.Created.UTC()}, nil
}

// Tokens lists the stored tokens, oldest first, without their hashes (for
// the operator's `pony-server token list`).
func (s *Store) Tokens(ctx context.Context) ([]aggregator.Token, error) {
	var rows []apiTokenRow
	if err := s.r.WithContext(ctx).Order("created, id").Find(&rows).Error; err != nil {
		return nil, storeErr("list tokens", err)
	}
	out := make([]aggregator.Token, len(rows))
	for i, r := range rows {
		out[i] = aggregator.Token{ID: r.ID, Package: r.Package, Scope: aggregator.Scope(r.Scope), Name: r.Name, Created: r.Created.UTC()}
	}
	return out, nil
}

// CountTokens counts the stored tokens.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	var n int64
	if err := s.r.WithContext(ctx).Model(&apiTokenRow{}).Count(&n).Error; err != nil {
		return 0, storeErr("count tokens", err)
	}
	return int(n), nil
}

// Reserve records a build reservation, replacing the environment's earlier
// one (one upsert).
func (s *Store) Reserve(ctx context.Context, r aggregator.Reservation) error {
	e := r.Env
	row := buildReservationRow{EnvKey: envKey(e), Package: e.Package, Host: e.Host, Arch: e.Arch, Runtime: e.Runtime, Tags: tagsJSON(e.Tags), Until: msUTC(r.Until)}
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "env_key"}},
		DoUpdates: clause.AssignmentColumns([]string{"until"}),
	}).Create(&row).Error
	return storeErr("reserve build", err)
}

// Reservation returns the environment's reservation, if any (in force or
// not: the caller compares Until with its clock).
func (s *Store) Reservation(ctx context.Context, env aggregator.Env) (aggregator.Reservation, bool, error) {
	var rows []buildReservationRow
	if err := s.r.WithContext(ctx).Where("env_key = ?", envKey(env)).Limit(1).Find(&rows).Error; err != nil {
		return aggregator.Reservation{}, false, storeErr("read reservation", err)
	}
	if len(rows) == 0 {
		return aggregator.Reservation{}, false, nil
	}
	r := rows[0]
	return aggregator.Reservation{
		Env:   aggregator.Env{Package: r.Package, Host: r.Host, Arch: r.Arch, Runtime: r.Runtime, Tags: parseTags(r.Tags)},
		Until: r.Until.UTC(),
	}, true, nil
}

// RequestBuild marks an environment as wanted; asking twice keeps one mark.
func (s *Store) RequestBuild(ctx context.Context, env aggregator.Env) error {
	row := buildRequestRow{EnvKey: envKey(env), Package: env.Package, Host: env.Host, Arch: env.Arch, Runtime: env.Runtime, Tags: tagsJSON(env.Tags), Created: msUTC(s.w.NowFunc())}
	err := s.w.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "env_key"}}, DoNothing: true}).Create(&row).Error
	return storeErr("request build", err)
}

// TakeBuildRequest reports whether the environment was wanted and clears
// the mark, in one DELETE: of two machines asking at once, one is told.
func (s *Store) TakeBuildRequest(ctx context.Context, env aggregator.Env) (bool, error) {
	res := s.w.WithContext(ctx).Where("env_key = ?", envKey(env)).Delete(&buildRequestRow{})
	if res.Error != nil {
		return false, storeErr("take build request", res.Error)
	}
	return res.RowsAffected > 0, nil
}
