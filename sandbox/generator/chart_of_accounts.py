"""The chart of accounts: ids are planned first, so every builder can refer to an account by name;
the documents are written last (see closing_balances), once their balances are known."""

from __future__ import annotations

from sandbox.generator.context import Context
from sandbox.generator.values import ref_to

# fmt: off
# (Name, AccountType, AccountSubType, parent Name, Active): QBO's default US chart, trimmed.
CHART: tuple[tuple[str, str, str, str | None, bool], ...] = (
    ("Checking", "Bank", "Checking", None, True),
    ("Savings", "Bank", "Savings", None, True),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", None, True),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", None, True),
    ("Inventory Asset", "Other Current Asset", "Inventory", None, True),
    ("Prepaid Expenses", "Other Current Asset", "PrepaidExpenses", None, True),
    ("Truck", "Fixed Asset", "Vehicles", None, True),
    ("Furniture and Equipment", "Fixed Asset", "FurnitureAndFixtures", None, True),
    ("Accumulated Depreciation", "Fixed Asset", "AccumulatedDepreciation", None, True),
    ("Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable", None, True),
    ("Mastercard", "Credit Card", "CreditCard", None, True),
    ("Payroll Liabilities", "Other Current Liability", "PayrollTaxPayable", None, True),
    ("Sales Tax Payable", "Other Current Liability", "SalesTaxPayable", None, True),
    ("Loan Payable", "Other Current Liability", "LoanPayable", None, True),
    ("Notes Payable", "Long Term Liability", "NotesPayable", None, True),
    ("Opening Balance Equity", "Equity", "OpeningBalanceEquity", None, True),
    ("Owner's Investment", "Equity", "OwnersEquity", None, True),
    ("Owner's Draw", "Equity", "PartnerDistributions", None, True),
    ("Retained Earnings", "Equity", "RetainedEarnings", None, True),
    ("Sales of Product Income", "Income", "SalesOfProductIncome", None, True),
    ("Services", "Income", "ServiceFeeIncome", None, True),
    ("Design income", "Income", "ServiceFeeIncome", None, True),
    ("Landscaping Services", "Income", "ServiceFeeIncome", None, True),
    ("Discounts given", "Income", "DiscountsRefundsGiven", None, True),
    ("Fees Billed (deleted)", "Income", "ServiceFeeIncome", None, False),
    ("Interest Earned", "Other Income", "InterestEarned", None, True),
    ("Other Income", "Other Income", "OtherMiscellaneousIncome", None, True),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", None, True),
    ("Advertising", "Expense", "AdvertisingPromotional", None, True),
    ("Automobile", "Expense", "Auto", None, True),
    ("Bank Charges", "Expense", "BankCharges", None, True),
    ("Insurance", "Expense", "Insurance", None, True),
    ("Legal & Professional Fees", "Expense", "LegalProfessionalFees", None, True),
    ("Meals and Entertainment", "Expense", "EntertainmentMeals", None, True),
    ("Office Expenses", "Expense", "OfficeGeneralAdministrativeExpenses", None, True),
    ("Rent or Lease", "Expense", "RentOrLeaseOfBuildings", None, True),
    ("Repair & Maintenance", "Expense", "RepairMaintenance", None, True),
    ("Supplies", "Expense", "SuppliesMaterials", None, True),
    ("Travel", "Expense", "Travel", None, True),
    ("Utilities", "Expense", "Utilities", None, True),
    ("Gas and Electric", "Expense", "Utilities", "Utilities", True),
    ("Telephone", "Expense", "Utilities", "Utilities", True),
    ("Payroll Expenses", "Expense", "PayrollExpenses", None, True),
    ("Taxes & Licenses", "Expense", "TaxesPaid", None, True),
    ("Depreciation", "Other Expense", "Depreciation", None, True),
    ("Penalties & Settlements", "Other Expense", "PenaltiesSettlements", None, True),
)
EXPENSE_ACCOUNTS = (
    "Advertising", "Automobile", "Bank Charges", "Insurance", "Legal & Professional Fees",
    "Meals and Entertainment", "Office Expenses", "Rent or Lease", "Repair & Maintenance", "Supplies",
    "Travel", "Utilities:Gas and Electric", "Utilities:Telephone", "Taxes & Licenses",
)
# fmt: on


def plan_accounts(ctx: Context) -> None:
    """Ids and refs for the chart; the documents come last, once their balances are known."""
    for id_, (name, account_type, _sub, parent, _active) in enumerate(CHART, start=1):
        fqn = f"{parent}:{name}" if parent else name
        ctx.claim("Account", fqn)
        ctx.accounts[fqn] = (id_, ref_to(id_, fqn), account_type)
    ctx.ids["Account"] = len(CHART) + 1
