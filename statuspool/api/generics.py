"""Plain CRUD over one model of the credential's account, with input and output serializers.

    class MonitorList(ListMixin, CreateMixin, AccountScopedView):
        queryset = Monitor.objects.all()
        output_serializer_class = MonitorSerializer
        required_scopes = {"GET": "monitors:read", "POST": "monitors:write"}

Every object is fetched through ``get_queryset``, which keeps only the credential's account, so an
id of another account is a 404 exactly like an id that does not exist. Serializers get the
account id in their context (``context["account_id"]``) to scope the related objects they accept.
"""

from rest_framework import mixins, status
from rest_framework.response import Response

from statuspool.api.views import GenericApiView


class AccountScopedView(GenericApiView):
    output_serializer_class = None
    input_serializer_class = None  # defaults to the output serializer when both look the same

    def get_queryset(self):
        return self.account_scoped(super().get_queryset())

    def get_serializer_class(self):
        return self.output_serializer_class

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if self.request is not None and self.request.auth is not None:
            context["account_id"] = self.credential.account_id
        return context

    def get_input_serializer(self, *args, **kwargs):
        serializer_class = self.input_serializer_class or self.output_serializer_class
        kwargs.setdefault("context", self.get_serializer_context())
        return serializer_class(*args, **kwargs)


class ListMixin(mixins.ListModelMixin):
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)


class RetrieveMixin:
    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)


class CreateMixin:
    creates_objects = True  # answers 201 Created (the schema reads this)

    def post(self, request, *args, **kwargs):
        serializer = self.get_input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instance = self.perform_create(serializer)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def perform_create(self, serializer):
        return serializer.save(account_id=self.credential.account_id)


class UpdateMixin:
    def put(self, request, *args, **kwargs):
        return self._update(request, partial=False)

    def patch(self, request, *args, **kwargs):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool):
        serializer = self.get_input_serializer(
            self.get_object(), data=request.data, partial=partial
        )
        serializer.is_valid(raise_exception=True)
        instance = serializer.save()
        return Response(self.get_serializer(instance).data)


class DestroyMixin:
    def delete(self, request, *args, **kwargs):
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
