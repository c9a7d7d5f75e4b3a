# Placeholder until the API helper lands; see issue 2.
from rest_framework import viewsets


class ClientViewSet(viewsets.ViewSet):
    pass


class OrderViewSet(viewsets.ViewSet):
    pass


class DeliverableViewSet(viewsets.ViewSet):
    pass
