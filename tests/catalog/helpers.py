"""Helpers shared by the catalog tests."""


def admin_form_data(page) -> dict:
    """The change form as the browser would post it back: every field with the value it
    was rendered with (inline formsets included)."""
    data = {}

    def put(form):
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else str(value)

    put(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        put(formset.management_form)
        for form in formset.forms:
            put(form)
    data["_save"] = "Save"
    return data
