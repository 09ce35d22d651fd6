import { Injectable } from '@nestjs/common';
import { SettingsService } from '../settings/settings.service';
import { StorageService } from '../storage/storage.service';
import type { Language } from './i18n';

/** How the hosted pages present the company. */
export interface Branding {
  name: string;
  /** An https:// or same-origin logo URL (an uploaded icon's included); none shows the name only. */
  logoUrl: string | null;
  /** CSS colour of buttons and links. */
  color: string;
}

export const DEFAULT_BRANDING: Branding = { name: 'Arbor', logoUrl: null, color: '#1f6feb' };

/**
 * The company branding of the hosted pages, from the site configuration's company section (name in
 * the page's language, icon, colour), field by field over the defaults.
 */
@Injectable()
export class BrandingService {
  private readonly last = new Map<Language, Branding>();

  constructor(
    private readonly settings: SettingsService,
    private readonly storage: StorageService,
  ) {}

  async current(language: Language): Promise<Branding> {
    const company = await this.settings.section('company');
    const name = language === 'en' ? company.name_en || company.name_cn : company.name_cn || company.name_en;
    const color = company.color.startsWith('#') ? company.color : `#${company.color}`;
    const branding: Branding = {
      name: name || DEFAULT_BRANDING.name,
      logoUrl: this.logo(company.icon),
      color: /^#[0-9a-fA-F]{3,8}$/.test(color) ? color : DEFAULT_BRANDING.color,
    };
    this.last.set(language, branding);
    return branding;
  }

  /** The branding last read, for an error page when the settings cannot be read. */
  cached(language: Language): Branding {
    return this.last.get(language) ?? DEFAULT_BRANDING;
  }

  /** The icon: an uploaded file's name (what the config API takes), an https URL, or a local path. */
  private logo(icon: string): string | null {
    if (!icon) return DEFAULT_BRANDING.logoUrl;
    const local = icon.startsWith('/') && !icon.startsWith('//') && !/[\s\\]/.test(icon);
    return this.storage.linkTo(icon) ?? (local ? icon : DEFAULT_BRANDING.logoUrl);
  }
}
