"""Money sums are exact on SQLite (the unit suite's database)."""

from __future__ import annotations

import pytest

from tests.billing.money_sums import awkward_amounts, check_exact, store
from tests.factories import ClientFactory


@pytest.mark.django_db
def test_ten_thousand_awkward_amounts_sum_exactly_through_the_orm():
    amounts = awkward_amounts()
    store(amounts, ClientFactory())

    check_exact(amounts)
