"""factory_boy factories for the test suite."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from orders.models import Client, Deliverable, Order
from studio.models import Membership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(obj, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create and extracted:
            Membership.objects.update_or_create(user=obj, defaults={"role": extracted})


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n} Ltd")
    contact_name = "Li Wei"
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    language = "zh-hans"
    currency = "CNY"


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    reference = factory.Sequence(lambda n: f"ORD-2026-{n + 1:04d}")
    client = factory.SubFactory(ClientFactory)
    title = factory.Sequence(lambda n: f"Product clip {n}")
    price = Decimal("1500.00")
    currency = "CNY"
    deposit_percent = Decimal("50")
    turnaround_days = 7
    revision_rounds_included = 2
    status = Order.Status.INQUIRY


class LinkDeliverableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deliverable

    order = factory.SubFactory(OrderFactory)
    title = "Final cut"
    version = factory.Sequence(lambda n: n + 1)
    kind = Deliverable.Kind.LINK
    url = "https://example.com/video.mp4"
