"""CompanyInfo and Preferences: the singletons a client reads first, as a US QBO Plus company has them."""

from __future__ import annotations

from sandbox.generator.context import Context
from sandbox.generator.names_and_addresses import ADJECTIVES, CITIES, STREETS, phone, slug
from sandbox.generator.sales_tax import SALES_TAX_CODE
from sandbox.generator.timeline import stamp
from sandbox.generator.values import ref_to

MEMO = "Thank you for your business and have a great day!"


def write_company(ctx: Context) -> None:
    rng, clock = ctx.rng("company"), ctx.clock
    trade = rng.choice(("Design and Landscaping", "Gardens", "Outdoor Living"))
    name = f"{rng.choice(ADJECTIVES)} {trade} Services"
    city, state, postal = rng.choice(CITIES)
    addr = {
        "Id": "1",
        "Line1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}",
        "City": city,
        "Country": "US",
        "CountrySubDivisionCode": state,
        "PostalCode": postal,
    }
    email = {"Address": f"noreply+{slug(name)}@example.com"}
    lut, sync = stamp(ctx.setup_ts, clock.later(rng, ctx.setup_ts, 1.0, 2))
    info = {
        "CompanyName": name,
        "LegalName": f"{name} LLC",
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": addr,
        "LegalAddr": addr,
        "PrimaryPhone": phone(rng),
        "CompanyStartDate": clock.iso(0),
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": email,
        "WebAddr": {"URI": f"https://www.{slug(name)}.example.com"},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": k, "Value": v}
            for k, v in (
                ("NeoEnabled", "true"),
                ("IndustryType", "Landscaping Services"),
                ("CompanyType", "LLC"),
                ("SubscriptionStatus", "SUBSCRIBED"),
                ("OfferingSku", "QuickBooks Online Plus"),
                ("PayrollFeature", "false"),
                ("AccountantFeature", "false"),
                ("IsQbdtMigrated", "false"),
            )
        ],
        **ctx.head(1, ctx.setup_ts, lut, sync),
    }
    ctx.write("CompanyInfo", [(info, ctx.setup_ts, lut)])
    lut, sync = stamp(ctx.setup_ts, clock.later(rng, ctx.setup_ts, 1.0, 3))
    prefs = {
        "AccountingInfoPrefs": {
            "TrackDepartments": bool(ctx.profile.departments),
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxn": bool(ctx.profile.classes),
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
            "FirstMonthOfFiscalYear": "January",
            "TaxYearMonth": "January",
            "UseAccountNumbers": False,
            "TaxForm": "6",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "DefaultDiscountAccount": str(ctx.accounts["Discounts given"][0]),
            "AllowEstimates": True,
            "ETransactionEnabledStatus": "NotApplicable",
            "AllowServiceDate": False,
            "AllowShipping": False,
            "DefaultTerms": ref_to(3),
            "DefaultCustomerMessage": MEMO,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
            "IPNSupportEnabled": False,
            "EstimateMessage": "Please review the estimate below.",
        },
        "EmailMessagesPrefs": {
            "InvoiceMessage": {"Subject": f"Invoice from {name}", "Message": "Your invoice is attached."}
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "DefaultTerms": ref_to(3),
            "DefaultMarkup": 0,
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {
            "UsingSalesTax": True,
            "PartnerTaxEnabled": True,
            "TaxGroupCodeRef": ref_to(SALES_TAX_CODE),
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": MEMO}]},
        **ctx.head(1, ctx.setup_ts, lut, sync),
    }
    ctx.write("Preferences", [(prefs, ctx.setup_ts, lut)])
