#!/usr/bin/perl
# pony-report's prove example: subtests and a diagnostic.
use strict;
use warnings;
use Test::More;

subtest 'numbers' => sub {
    plan tests => 2;
    ok(1 + 1 == 2, 'addition');
    ok(10 / 4 == 2.5, 'division');
};
subtest 'strings' => sub {
    is(uc 'pony', 'PONY', 'upper case');
    like('pony-report', qr/^pony-/, 'prefix');
    done_testing;
};
note 'a note goes to the output, not to the verdicts';
done_testing;
