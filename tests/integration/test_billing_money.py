"""Money sums are exact on PostgreSQL too."""

from __future__ import annotations

import pytest

from tests.billing.money_sums import awkward_amounts, check_exact, store
from tests.factories import ClientFactory


@pytest.mark.integration
@pytest.mark.django_db
def test_ten_thousand_awkward_amounts_sum_exactly_on_postgresql(postgresql):
    amounts = awkward_amounts()
    store(amounts, ClientFactory())

    check_exact(amounts)
