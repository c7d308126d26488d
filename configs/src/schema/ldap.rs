//! `ldap.cfg`: the LDAP user plugin / kc-directory, after KC's LDAPUserPlugin.
//! Defaults are KC's code defaults where the references give them, otherwise
//! the OpenLDAP template values; the presets ldap.openldap.cfg and
//! ldap.active-directory.cfg set the full mapping. Every option is applied on
//! reload (KC: mapping, search base and bind changes need only a reload).

use super::{opt, LegacyUri, OptionSpec, Schema, ValueKind::*};

pub(super) static SCHEMA: Schema = Schema {
    component: "ldap",
    default_path: "/etc/kopano/ldap.cfg",
    options: OPTIONS,
    legacy_listen: &[],
    legacy_uri: Some(LegacyUri {
        target: "ldap_uri",
        host: "ldap_host",
        port: "ldap_port",
        protocol: "ldap_protocol",
    }),
};

/// How an attribute's values are interpreted.
const TYPES: &[&str] = &["text", "binary", "dn"];

/// An attribute-name option (reloadable text).
const fn attr(name: &'static str, default: &'static str, help: &'static str) -> OptionSpec {
    opt(name, default, Str, help).reloadable()
}

/// An attribute-type option.
const fn ty(name: &'static str, default: &'static str, help: &'static str) -> OptionSpec {
    opt(name, default, OneOf(TYPES), help).reloadable()
}

static OPTIONS: &[OptionSpec] = &[
    // --- connection
    opt("ldap_uri", "ldap://localhost:389/", UriList, "Space-separated LDAP servers, tried in order (ldap:// or ldaps://); empty with ldap_ldif_file set = LDIF source").reloadable(),
    opt("ldap_starttls", "no", Bool, "Upgrade ldap:// connections with STARTTLS").reloadable(),
    opt("ldap_tls_ca_file", "", Path, "kc addition: CA certificates (PEM) to verify the LDAP server; empty = system roots").reloadable(),
    opt("ldap_bind_user", "", Str, "DN to bind as for searches; empty = anonymous").reloadable(),
    opt("ldap_bind_passwd", "", Str, "Password of ldap_bind_user").secret().reloadable(),
    opt("ldap_search_base", "", Str, "Base DN below which all users, groups, companies and servers live").reloadable(),
    opt("ldap_network_timeout", "30", Duration, "Give up on an unresponsive LDAP server after this long and try the next").reloadable(),
    opt("ldap_page_size", "1000", Int, "Paged-results page size (AD MaxPageSize is 1000)").reloadable(),
    opt("ldap_authentication_method", "bind", OneOf(&["bind", "password"]), "bind: log users in by binding as them; password: compare with ldap_password_attribute").reloadable(),
    opt("ldap_filter_cutoff_elements", "1000", Int, "Fetch everything instead of building filters longer than this many terms").reloadable(),
    opt("ldap_ldif_file", "", Path, "kc addition: read the directory from this LDIF file instead of an LDAP server (needs ldap_uri empty)").reloadable(),
    opt("ldap_cache_positive_ttl", "300", Duration, "kc addition: how long found users/servers are cached").reloadable(),
    opt("ldap_cache_negative_ttl", "30", Duration, "kc addition: how long 'not found' answers are cached").reloadable(),
    opt("ldap_cache_server_ttl", "1800", Duration, "kc addition: how long server (node) objects are cached").reloadable(),
    opt("ldap_cache_size", "10000", Int, "kc addition: most cached entries per kind").reloadable(),
    // --- object types
    attr("ldap_object_type_attribute", "objectClass", "Attribute that tells users, groups, companies, ... apart"),
    attr("ldap_user_type_attribute_value", "posixAccount", "ldap_object_type_attribute value of users"),
    attr("ldap_group_type_attribute_value", "posixGroup", "ldap_object_type_attribute value of groups"),
    attr("ldap_contact_type_attribute_value", "kopano-contact", "ldap_object_type_attribute value of contacts"),
    attr("ldap_company_type_attribute_value", "organizationalUnit", "ldap_object_type_attribute value of companies"),
    attr("ldap_addresslist_type_attribute_value", "kopano-addresslist", "ldap_object_type_attribute value of address lists"),
    attr("ldap_dynamicgroup_type_attribute_value", "kopano-dynamicgroup", "ldap_object_type_attribute value of dynamic groups"),
    attr("ldap_server_type_attribute_value", "", "ldap_object_type_attribute value of server (node) objects; required for multi-server"),
    attr("ldap_last_modification_attribute", "modifyTimestamp", "Attribute holding the last change time"),
    attr("ldap_object_search_filter", "", "Address book search filter; %s is the search text"),
    // --- users
    attr("ldap_user_search_filter", "", "Extra filter ANDed into user searches, e.g. (kopanoAccount=1)"),
    attr("ldap_user_unique_attribute", "uidNumber", "Attribute that identifies a user for life (changing it orphans the store)"),
    ty("ldap_user_unique_attribute_type", "text", "Type of ldap_user_unique_attribute: text or binary"),
    attr("ldap_loginname_attribute", "uid", "Login name"),
    attr("ldap_fullname_attribute", "cn", "Display name"),
    attr("ldap_password_attribute", "userPassword", "Password hash, for ldap_authentication_method = password"),
    attr("ldap_emailaddress_attribute", "mail", "Primary e-mail address"),
    attr("ldap_emailaliases_attribute", "kopanoAliases", "Additional e-mail addresses"),
    attr("ldap_isadmin_attribute", "kopanoAdmin", "Admin level: 0 none, 1 admin, 2 system admin"),
    attr("ldap_nonactive_attribute", "kopanoSharedStoreOnly", "Non-zero = shared store, no login"),
    attr("ldap_resource_type_attribute", "kopanoResourceType", "Room or Equipment"),
    attr("ldap_resource_capacity_attribute", "kopanoResourceCapacity", "Number of rooms/equipment"),
    attr("ldap_user_certificate_attribute", "userCertificate;binary", "S/MIME certificate"),
    attr("ldap_user_server_attribute", "kopanoUserServer", "Home node of the user (multi-server)"),
    attr("ldap_enabled_features_attribute", "kopanoEnabledFeatures", "kc addition: features enabled for the user (KC mapped these via the propmap)"),
    attr("ldap_disabled_features_attribute", "kopanoDisabledFeatures", "kc addition: features disabled for the user (KC mapped these via the propmap)"),
    attr("ldap_sendas_attribute", "kopanoSendAsPrivilege", "Users/groups allowed to send as this object"),
    ty("ldap_sendas_attribute_type", "text", "Type of ldap_sendas_attribute: text, dn or binary"),
    attr("ldap_sendas_relation_attribute", "", "Attribute ldap_sendas_attribute values refer to; empty = the unique attribute"),
    attr("ldap_addressbook_hide_attribute", "kopanoHidden", "Non-zero hides the object from the address book"),
    // --- groups
    attr("ldap_group_search_filter", "", "Extra filter ANDed into group searches"),
    attr("ldap_group_unique_attribute", "gidNumber", "Attribute that identifies a group for life"),
    ty("ldap_group_unique_attribute_type", "text", "Type of ldap_group_unique_attribute: text or binary"),
    attr("ldap_groupname_attribute", "cn", "Group name"),
    attr("ldap_groupmembers_attribute", "memberUid", "Member list"),
    ty("ldap_groupmembers_attribute_type", "text", "Type of ldap_groupmembers_attribute: text, dn or binary"),
    attr("ldap_groupmembers_relation_attribute", "uid", "User attribute member values refer to; empty = the user unique attribute"),
    attr("ldap_group_security_attribute", "kopanoSecurityGroup", "Security group (usable in permissions) versus distribution list"),
    opt("ldap_group_security_attribute_type", "boolean", OneOf(&["boolean", "ads"]), "boolean (1/0) or ads (AD groupType bit)").reloadable(),
    // --- companies
    attr("ldap_company_search_filter", "", "Extra filter ANDed into company searches"),
    attr("ldap_company_unique_attribute", "ou", "Attribute that identifies a company for life"),
    ty("ldap_company_unique_attribute_type", "text", "Type of ldap_company_unique_attribute: text or binary"),
    attr("ldap_companyname_attribute", "ou", "Company name"),
    opt("ldap_company_scope", "sub", OneOf(&["base", "one", "sub"]), "Zarafa-era search scope for companies (accepted; kc always searches the subtree)").reloadable(),
    attr("ldap_company_view_attribute", "kopanoViewPrivilege", "Companies allowed to see this company"),
    ty("ldap_company_view_attribute_type", "text", "Type of ldap_company_view_attribute"),
    attr("ldap_company_admin_attribute", "kopanoAdminPrivilege", "Users of other companies who administer this one"),
    ty("ldap_company_admin_attribute_type", "text", "Type of ldap_company_admin_attribute"),
    attr("ldap_company_system_admin_attribute", "kopanoSystemAdmin", "System administrator of the company"),
    ty("ldap_company_system_admin_attribute_type", "text", "Type of ldap_company_system_admin_attribute"),
    attr("ldap_company_server_attribute", "kopanoCompanyServer", "Node holding the company's public store (multi-server)"),
    // --- address lists and dynamic groups
    attr("ldap_addresslist_search_filter", "", "Extra filter ANDed into address list searches"),
    attr("ldap_addresslist_unique_attribute", "cn", "Attribute that identifies an address list"),
    ty("ldap_addresslist_unique_attribute_type", "text", "Type of ldap_addresslist_unique_attribute"),
    attr("ldap_addresslist_filter_attribute", "kopanoFilter", "LDAP filter selecting the list's members"),
    attr("ldap_addresslist_search_base_attribute", "kopanoBase", "Search base for the list's filter"),
    attr("ldap_addresslist_name_attribute", "cn", "Address list name"),
    attr("ldap_dynamicgroup_search_filter", "", "Extra filter ANDed into dynamic group searches"),
    attr("ldap_dynamicgroup_unique_attribute", "cn", "Attribute that identifies a dynamic group"),
    ty("ldap_dynamicgroup_unique_attribute_type", "text", "Type of ldap_dynamicgroup_unique_attribute"),
    attr("ldap_dynamicgroup_filter_attribute", "kopanoFilter", "LDAP filter selecting the group's members"),
    attr("ldap_dynamicgroup_search_base_attribute", "kopanoBase", "Search base for the group's filter"),
    attr("ldap_dynamicgroup_name_attribute", "cn", "Dynamic group name"),
    // --- quota
    attr("ldap_quotaoverride_attribute", "kopanoQuotaOverride", "Non-zero: use the object's own quota instead of server.cfg"),
    attr("ldap_warnquota_attribute", "kopanoQuotaWarn", "Quota warning level"),
    attr("ldap_softquota_attribute", "kopanoQuotaSoft", "Soft quota level"),
    attr("ldap_hardquota_attribute", "kopanoQuotaHard", "Hard quota level"),
    attr("ldap_userdefault_quotaoverride_attribute", "kopanoUserDefaultQuotaOverride", "Company: override the server's default user quota"),
    attr("ldap_userdefault_warnquota_attribute", "kopanoUserDefaultQuotaWarn", "Company: default user warning level"),
    attr("ldap_userdefault_softquota_attribute", "kopanoUserDefaultQuotaSoft", "Company: default user soft level"),
    attr("ldap_userdefault_hardquota_attribute", "kopanoUserDefaultQuotaHard", "Company: default user hard level"),
    attr("ldap_quota_userwarning_recipients_attribute", "kopanoQuotaUserWarningRecipients", "Who is mailed when a user exceeds quota"),
    ty("ldap_quota_userwarning_recipients_attribute_type", "text", "Type of ldap_quota_userwarning_recipients_attribute"),
    attr("ldap_quota_companywarning_recipients_attribute", "kopanoQuotaCompanyWarningRecipients", "Who is mailed when a company exceeds quota"),
    ty("ldap_quota_companywarning_recipients_attribute_type", "text", "Type of ldap_quota_companywarning_recipients_attribute"),
    opt("ldap_quota_multiplier", "1", Int, "Multiply quota attribute values by this to get bytes (1: values are bytes; AD preset 1048576: MB)").reloadable(),
    // --- servers (multi-server nodes)
    attr("ldap_server_search_filter", "", "Extra filter ANDed into server searches"),
    attr("ldap_server_unique_attribute", "cn", "Node name (matches kopanoUserServer and server_name)"),
    attr("ldap_server_address_attribute", "", "Node host name or address clients connect to"),
    attr("ldap_server_http_port_attribute", "kopanoHttpPort", "Node plain HTTP port"),
    attr("ldap_server_ssl_port_attribute", "kopanoSslPort", "Node HTTPS port"),
    attr("ldap_server_file_path_attribute", "kopanoFilePath", "Node unix socket path"),
    attr("ldap_server_contains_public_attribute", "kopanoContainsPublic", "Non-zero on the one node holding the public store"),
    attr("ldap_server_proxy_path_attribute", "kopanoProxyURL", "URL redirects use when proxy_header matches (e.g. https://proxy:237/z1)"),
];
