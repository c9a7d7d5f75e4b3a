"""Pages of the notification centre, reminder settings and webhooks."""

from django.urls import path

from studio import views_notifications, views_webhooks

urlpatterns = [
    path("notifications/", views_notifications.notification_list, name="notification-list"),
    path(
        "notifications/read/",
        views_notifications.notification_mark_read,
        name="notification-mark-read",
    ),
    path(
        "notifications/<int:pk>/open/",
        views_notifications.notification_open,
        name="notification-open",
    ),
    path(
        "notifications/e-mail/",
        views_notifications.notification_email_preference,
        name="notification-email",
    ),
    path("studio/reminders/", views_notifications.reminder_settings, name="reminder-settings"),
    path("studio/webhooks/", views_webhooks.webhook_list, name="webhook-list"),
    path("studio/webhooks/settings/", views_webhooks.webhook_settings, name="webhook-settings"),
    path("studio/webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook-detail"),
    path("studio/webhooks/<int:pk>/rotate/", views_webhooks.webhook_rotate, name="webhook-rotate"),
    path("studio/webhooks/<int:pk>/delete/", views_webhooks.webhook_delete, name="webhook-delete"),
    path(
        "studio/webhooks/<int:pk>/deliveries/<int:delivery_pk>/send-again/",
        views_webhooks.webhook_send_again,
        name="webhook-send-again",
    ),
]
